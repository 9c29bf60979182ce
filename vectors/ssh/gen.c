/* Known answers for vault's ssh_cipher.rs, from libssh2 1.11's own chacha.c
   and poly1305.c (libssh2-sys 0.3.4). Deterministic: no randomness. */
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include "chacha.h"
#include "poly1305.h"
static uint64_t st = 0x9e3779b97f4a7c15ULL;
static uint8_t rnd(void) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; return (uint8_t)(st >> 24); }
static void hex(const uint8_t *p, size_t n) { if (!n) { printf("-"); return; } for (size_t i = 0; i < n; i++) printf("%02x", p[i]); }
int main(void) {
    static const size_t lens[] = {0, 1, 4, 16, 32, 63, 64, 65, 100, 127, 128, 129, 255, 256, 300};
    static const uint64_t ctrs[] = {0, 1, 2, 0xffffffffULL, 0x1ffffffffULL, 0x0123456789abcdefULL};
    printf("# libssh2 1.11 chacha.c / poly1305.c known answers; see vectors/ssh/README.md\n");
    for (int c = 0; c < 48; c++) {
        uint8_t key[32], nonce[8], ctr[8]; uint8_t in[1024], out[1024];
        for (int i = 0; i < 32; i++) key[i] = rnd();
        for (int i = 0; i < 8; i++) nonce[i] = rnd();
        int has_ctr = c % 3 != 0;
        uint64_t cv = ctrs[c % 6];
        for (int i = 0; i < 8; i++) ctr[i] = (uint8_t)(cv >> (8 * i));
        struct chacha_ctx x;
        chacha_keysetup(&x, key, 256);
        chacha_ivsetup(&x, nonce, has_ctr ? ctr : NULL);
        size_t l[3] = { lens[c % 15], lens[(c * 7 + 3) % 15], lens[(c * 11 + 5) % 15] };
        size_t total = l[0] + l[1] + l[2];
        for (size_t i = 0; i < total; i++) in[i] = rnd();
        size_t off = 0;
        for (int k = 0; k < 3; k++) {
            if (c % 2) { memcpy(out + off, in + off, l[k]); chacha_encrypt_bytes(&x, out + off, out + off, l[k]); }
            else chacha_encrypt_bytes(&x, in + off, out + off, l[k]);
            off += l[k];
        }
        uint64_t next = (uint64_t)x.input[12] | ((uint64_t)x.input[13] << 32);
        printf("chacha "); hex(key, 32); printf(" "); hex(nonce, 8); printf(" ");
        if (has_ctr) hex(ctr, 8); else printf("-");
        printf(" %zu,%zu,%zu ", l[0], l[1], l[2]); hex(in, total); printf(" "); hex(out, total);
        printf(" %llu\n", (unsigned long long)next);
    }
    for (int c = 0; c < 40; c++) {
        uint8_t key[32], msg[600], tag[16];
        size_t n = c < 34 ? (size_t)c : (size_t)(c * 37 % 600);
        for (int i = 0; i < 32; i++) key[i] = rnd();
        for (size_t i = 0; i < n; i++) msg[i] = rnd();
        poly1305_auth(tag, msg, n, key);
        printf("poly1305 "); hex(key, 32); printf(" "); hex(msg, n); printf(" "); hex(tag, 16); printf("\n");
    }
    return 0;
}

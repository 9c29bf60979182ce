/*
 * Compiled by build.rs against libssh2's own private headers: fails the
 * build unless libssh2 declares exactly the functions and the state layout
 * that src/transport/sftp/ssh_cipher.rs defines in Rust.
 *
 * Rust side: u32 = uint32_t, usize = size_t, *const u8 = const uint8_t *.
 */
#include <stddef.h>
#include <stdint.h>

#include "chacha.h"
#include "poly1305.h"

#define SAME_TYPE(a, b) __builtin_types_compatible_p(__typeof__(a), b)

/* struct chacha_ctx { u32 input[16]; }: 16 little-endian words, nothing else. */
_Static_assert(sizeof(struct chacha_ctx) == 64, "struct chacha_ctx is no longer 64 bytes");
_Static_assert(offsetof(struct chacha_ctx, input) == 0, "chacha_ctx.input moved");
_Static_assert(SAME_TYPE(((struct chacha_ctx *)0)->input, uint32_t[16]),
               "chacha_ctx.input is no longer u32[16]");
_Static_assert(_Alignof(struct chacha_ctx) == _Alignof(uint32_t),
               "struct chacha_ctx alignment changed");

_Static_assert(SAME_TYPE(&chacha_keysetup,
                         void (*)(struct chacha_ctx *, const uint8_t *, uint32_t)),
               "chacha_keysetup's prototype changed");
_Static_assert(SAME_TYPE(&chacha_ivsetup,
                         void (*)(struct chacha_ctx *, const uint8_t *, const uint8_t *)),
               "chacha_ivsetup's prototype changed");
_Static_assert(SAME_TYPE(&chacha_encrypt_bytes,
                         void (*)(struct chacha_ctx *, const uint8_t *, uint8_t *, size_t)),
               "chacha_encrypt_bytes's prototype changed (libssh2 1.11.1 had u_int bytes)");
_Static_assert(SAME_TYPE(&poly1305_auth,
                         void (*)(uint8_t *, const uint8_t *, size_t, const uint8_t *)),
               "poly1305_auth's prototype changed");
_Static_assert(POLY1305_KEYLEN == 32 && POLY1305_TAGLEN == 16, "Poly1305 sizes changed");

/* ISO C wants at least one declaration in a translation unit. */
typedef int vault_ssh_cipher_check_unused;

//! `cargo bench --bench stanzas`: what one recipient costs, per key type:
//! making its stanza (sealing) and unwrapping it (opening), in vault's
//! format (age's differs only in labels and the 16-byte file key). A file's
//! header costs one stanza per recipient to make; opening tries stanzas
//! until one unwraps.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vault::crypto::{
    FileKey, Identity, PqIdentity, Recipient, SshIdentity, X25519Identity, os_rng,
};

fn ssh(alg: ssh_key::Algorithm) -> SshIdentity {
    let k = ssh_key::PrivateKey::random(&mut os_rng(), alg).unwrap();
    let text = k.to_openssh(ssh_key::LineEnding::LF).unwrap();
    SshIdentity::from_openssh(text.as_bytes(), "bench", None).unwrap()
}

fn stanzas(c: &mut Criterion) {
    let mut rng = os_rng();
    let fk = FileKey::generate(&mut rng, 32);
    let x = X25519Identity::generate(&mut rng);
    let pq = PqIdentity::generate(&mut rng);
    let ed = ssh(ssh_key::Algorithm::Ed25519);
    let rsa = ssh(ssh_key::Algorithm::Rsa { hash: None });
    let xr = x.recipient();
    let pqr = pq.recipient();
    let cases: [(&str, &dyn Recipient, &dyn Identity); 4] = [
        ("x25519", &xr, &x),
        ("mlkem768x25519", &pqr, &pq),
        ("ssh-ed25519", ed.recipient(), &ed),
        ("ssh-rsa-3072", rsa.recipient(), &rsa),
    ];
    let mut g = c.benchmark_group("stanza");
    for (name, r, id) in cases {
        g.bench_function(format!("{name}/seal"), |b| {
            b.iter(|| r.vault_stanza(&mut rng, black_box(&fk)).unwrap())
        });
        let s = r.vault_stanza(&mut rng, &fk).unwrap();
        g.bench_function(format!("{name}/open"), |b| {
            b.iter(|| id.unwrap_vault(black_box(&s)).unwrap().unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, stanzas);
criterion_main!(benches);

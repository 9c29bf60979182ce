//! Known-answer vectors, both formats, in one test binary: vault's own
//! (`vectors/vault/`, [`vault`]) and the C2SP CCTV age vectors
//! (`vectors/age/`, [`age`]), on one harness ([`testkit`]).

mod age;
mod head;
mod testkit;
mod vault;

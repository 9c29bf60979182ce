//! Small generated seed inputs, one set per harness, for `fuzz/seeds/`
//! (written by `scripts/fuzz-seeds`, next to excerpts of `vectors/`).
//! Seeds give the fuzzer valid structure to mutate: files sealed to the
//! harness identity, payloads under the harness payload key.

use std::io::Write;

use super::{PAYLOAD_KEY, identity};
use crate::crypto::age::ArmoredWriter;
use crate::crypto::stream::{CHUNK_SIZE, StreamWriter};
use crate::crypto::suite::{PayloadKey, Suite};
use crate::crypto::{X25519Identity, os_rng};
use crate::keystore::contacts::{Contact, format as format_contacts};
use crate::keystore::identity_file;
use crate::remote::codec::metadata::Metadata;

/// One seed: the harness it is for, a file name, the bytes.
pub type Seed = (&'static str, String, Vec<u8>);

fn sealed_payload(suite: Suite, len: usize) -> Vec<u8> {
    let mut w = StreamWriter::new(PayloadKey::new(suite, &PAYLOAD_KEY), Vec::new());
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    w.write_all(&data).expect("Vec");
    w.finish().expect("Vec")
}

/// Every generated seed (randomised where the format is: stanzas, salts).
pub fn generated() -> Vec<Seed> {
    let mut rng = os_rng();
    let mut out: Vec<Seed> = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push((target, name.to_owned(), bytes));
    };
    let me = identity().recipient();
    let other = X25519Identity::generate(&mut rng).recipient();

    for (sel, suite) in [(0u8, Suite::ChaCha20Poly1305), (1, Suite::Aes256Gcm)] {
        for len in [0, 1, 100, 1000] {
            let mut seed = vec![sel];
            seed.extend(sealed_payload(suite, len));
            add("payload_open", &format!("{}_{len}", suite.name()), seed);
        }
    }
    let mut seed = vec![0u8];
    seed.extend(sealed_payload(Suite::ChaCha20Poly1305, CHUNK_SIZE + 1));
    add("payload_open", "chacha20poly1305_chunk_plus_one", seed);

    add("payload_roundtrip", "empty", vec![0, 0, 0]);
    add("payload_roundtrip", "short", b"\x01\x00\x10abc".to_vec());
    add(
        "payload_roundtrip",
        "one_chunk",
        b"\x00\x40\x00\x05\xff".to_vec(),
    );
    add(
        "payload_roundtrip",
        "chunk_plus_one",
        b"\x03\x40\x01x".to_vec(),
    );

    for (name, recipients) in [("me", vec![me]), ("me_and_other", vec![other, me])] {
        let file_key = crate::crypto::FileKey::generate(&mut rng, 32);
        let mut nonce = [0u8; 16];
        rand_core::Rng::fill_bytes(&mut rng, &mut nonce);
        let list: Vec<&dyn crate::crypto::Recipient> = recipients
            .iter()
            .map(|r| r as &dyn crate::crypto::Recipient)
            .collect();
        let header = crate::crypto::bound::header(Suite::ChaCha20Poly1305, &file_key, nonce, &list)
            .expect("recipients are valid");
        let header_bytes = header.to_bytes();
        let meta = Metadata {
            version: 2,
            id: super::remote::SEED_ID.into(),
            rev: 1,
            inline: false,
            name: format!("folder/{name}.txt"),
            size: 1234,
            mtime: 1_700_000_000,
            created: 1_700_000_100,
            sha256: Some([0x5a; 32]),
            recipients: recipients.iter().map(ToString::to_string).collect(),
        };
        let head = crate::remote::codec::head::build(&mut rng, &header, &file_key, &meta, None);
        add("remote_head", name, head);
        add("remote_metadata", name, meta.encode());
        add(
            "vault_header",
            &format!("head_{name}"),
            header_bytes.clone(),
        );
        // The same record as an earlier vault wrote it (version 1).
        let mut v1 = meta.clone();
        v1.version = 1;
        v1.id = String::new();
        v1.rev = 0;
        v1.sha256 = None;
        let mut head = header_bytes.clone();
        head.extend(v1.seal(&mut rng, &file_key, &header_bytes));
        add("remote_head", &format!("{name}_v1"), head);
        add("remote_metadata", &format!("{name}_v1"), v1.encode());
        // With its payload inline.
        let data = b"a small payload";
        let key = crate::crypto::file::payload_key(Suite::ChaCha20Poly1305, &file_key, &nonce);
        let (_, sealed) = crate::crypto::pipeline::seal_payload(key, &mut &data[..], Vec::new(), 1)
            .expect("sealing into memory");
        let mut inl = meta.clone();
        inl.inline = true;
        inl.size = data.len() as u64;
        let head =
            crate::remote::codec::head::build(&mut rng, &header, &file_key, &inl, Some(&sealed));
        add("remote_head", &format!("{name}_inline"), head);
    }

    for name in [
        "a",
        "dir/file.txt",
        "ünï/cødé ✓",
        "a/../b",
        "/abs",
        "x\u{1b}[0m",
    ] {
        add("remote_name", &format!("{:02x}", name.len()), name.into());
    }

    let id = identity();
    add(
        "identity_file",
        "plain",
        identity_file::format(&id).as_bytes().to_vec(),
    );
    add(
        "identity_file",
        "two",
        format!(
            "# comment\n\n{}\n  {}  \n",
            id.to_secret_string().as_str(),
            X25519Identity::generate(&mut rng)
                .to_secret_string()
                .as_str()
        )
        .into_bytes(),
    );
    let contacts = vec![
        Contact {
            name: "alice".into(),
            key: me.to_string(),
        },
        Contact {
            name: "bob.smith-2".into(),
            key: other.to_string(),
        },
    ];
    add("contacts", "two", format_contacts(&contacts).into_bytes());
    add(
        "recipients",
        "two",
        format!("# team\n{me}\n\n  {other}\n# end\n").into_bytes(),
    );

    // Key lines and files from fixed seeds (regenerating changes nothing).
    let ed = ssh_key::PrivateKey::from(ssh_key::private::Ed25519Keypair::from_seed(&[7; 32]));
    let ed_pub = ed.public_key().to_openssh().expect("encodes");
    add(
        "ssh_public_key",
        "mixed",
        format!(
            "{ed_pub} alice@laptop\n{me}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB\n\
             ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=\n\
             {}\n",
            identity().to_secret_string().as_str()
        )
        .into_bytes(),
    );
    add(
        "ssh_private_key",
        "ed25519",
        ed.to_openssh(ssh_key::LineEnding::LF)
            .expect("encodes")
            .as_bytes()
            .to_vec(),
    );
    add(
        "plugin_message",
        "exchange",
        b"-> msg\ndG91Y2ggdGhlIGtleQ\n-> recipient-stanza 0 x25519 abc\nAAAA\n-> labels postquantum\n\n-> done\n\n"
            .to_vec(),
    );
    let fk = crate::crypto::FileKey::from_bytes(&[3; 32]).expect("32 bytes");
    let body = crate::crypto::plugin::vault_body(
        &[crate::crypto::age::Stanza {
            args: vec!["vaulttest".into(), "xor".into()],
            body: vec![9; 16],
        }],
        &[5; 16],
        &fk,
    )
    .expect("fits");
    add("plugin_message", "vault_body", body);

    add("ssh_config", "blocks", SSH_CONFIG.as_bytes().to_vec());
    add("ssh_config", "globs", b"a*b?c*\naxxbyc\n".to_vec());
    add("known_hosts", "lines", KNOWN_HOSTS.as_bytes().to_vec());

    let mut w = ArmoredWriter::new(Vec::new());
    w.write_all(&[0x5a; 100]).expect("Vec");
    add("age_armor", "generated_100", w.finish().expect("Vec"));
    out
}

const SSH_CONFIG: &str = "\
example.com
# first line: the host alias
User = someone
Host *.example.com !bad.example.com example.com
  HostName %h.internal
  Port 2222
  IdentityFile ~/.ssh/id_%r_%p
  IdentitiesOnly yes
  UserKnownHostsFile \"~/.ssh/known hosts\" %d/kh2
  StrictHostKeyChecking accept-new
  Ciphers ^aes256-gcm@openssh.com
  ConnectTimeout 5
Match host *.internal user someone,!root localuser fuzzer
  ServerAliveInterval 10
  BatchMode yes
Match exec \"true\"
  HostKeyAlias alias
Include config.d/*
Host *
  GlobalKnownHostsFile none
";

const KNOWN_HOSTS: &str = "\
# comment
example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH
[example.com]:2222,other.org ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7
*.example.com,!bad.example.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=
@revoked old.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH
@cert-authority *.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH
|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH
";

//! The agent's messages: serde types in postcard's binary form, each sent
//! as a 4-byte big-endian length and the encoded bytes. A client sends one
//! [`Request`] and reads one [`Response`], as many times as it likes on
//! one connection. Local to one machine and one version of vault (a
//! version mismatch is caught by [`VERSION`] in the hello).

use std::io::{Read, Write};

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use zeroize::Zeroizing;

use super::AgentError;

/// The protocol's version, sent in the hello.
pub const VERSION: u32 = 1;

/// The largest message either side accepts.
pub const MAX_MESSAGE: usize = 1 << 20;

/// What a client asks.
#[derive(Serialize, Deserialize)]
pub enum Request {
    /// Which keys the agent holds, and for how long.
    Hello,
    /// Open one vault stanza with key number `key`.
    UnwrapVault {
        /// Index into the hello's keys.
        key: u32,
        /// The stanza kind.
        kind: u8,
        /// Its body.
        body: Vec<u8>,
    },
    /// Open the first of these age stanzas that key number `key` can.
    UnwrapAge {
        /// Index into the hello's keys.
        key: u32,
        /// Each stanza's arguments and body.
        stanzas: Vec<(Vec<String>, Vec<u8>)>,
    },
    /// Forget the keys and stop.
    Lock,
}

/// What the agent answers.
#[derive(Serialize, Deserialize)]
pub enum Response {
    /// The answer to [`Request::Hello`].
    Hello(Status),
    /// The file key, if the stanza was for this key.
    FileKey(Option<Zeroizing<Vec<u8>>>),
    /// The stanza is malformed (what the identity said of it).
    Refused(String),
    /// The agent forgot its keys and is stopping.
    Locked,
}

/// The agent's state, as the hello reports it.
#[derive(Serialize, Deserialize)]
pub struct Status {
    /// [`VERSION`].
    pub version: u32,
    /// The agent's process id.
    pub pid: u32,
    /// The keys held, in the identity file's order.
    pub keys: Vec<KeyInfo>,
    /// Seconds until the agent forgets the keys.
    pub seconds_left: u64,
    /// Whether the secret is locked in RAM.
    pub memory_locked: bool,
}

/// One held key.
#[derive(Serialize, Deserialize)]
pub struct KeyInfo {
    /// Its public key (`age1...`, `age1pq1...`).
    pub public: String,
    /// Its cache secret (a one-way function of the key).
    pub cache_secret: Zeroizing<Vec<u8>>,
}

/// Send one message.
pub fn write_msg<T: Serialize>(w: &mut dyn Write, msg: &T) -> Result<(), AgentError> {
    let bytes = Zeroizing::new(
        postcard::to_stdvec(msg).map_err(|_| AgentError::Protocol("cannot encode"))?,
    );
    let len = u32::try_from(bytes.len()).map_err(|_| AgentError::Protocol("too long"))?;
    let mut frame = Zeroizing::new(Vec::with_capacity(4 + bytes.len()));
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&bytes);
    w.write_all(&frame)
        .and_then(|()| w.flush())
        .map_err(AgentError::io("writing to the agent's socket"))
}

/// Read one message; `Ok(None)` at a clean end of the stream.
pub fn read_msg<T: DeserializeOwned>(r: &mut dyn Read) -> Result<Option<T>, AgentError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(AgentError::io("reading from the agent's socket")(e)),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_MESSAGE {
        return Err(AgentError::Protocol("message too long"));
    }
    let mut bytes = Zeroizing::new(vec![0u8; len]);
    r.read_exact(&mut bytes)
        .map_err(AgentError::io("reading from the agent's socket"))?;
    postcard::from_bytes(&bytes)
        .map(Some)
        .map_err(|_| AgentError::Protocol("does not decode"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_bad_frames_are_refused() {
        let mut buf = Vec::new();
        write_msg(
            &mut buf,
            &Request::UnwrapVault {
                key: 1,
                kind: 7,
                body: vec![1, 2, 3],
            },
        )
        .unwrap();
        write_msg(&mut buf, &Request::Lock).unwrap();
        let mut r = &buf[..];
        match read_msg::<Request>(&mut r).unwrap() {
            Some(Request::UnwrapVault { key, kind, body }) => {
                assert_eq!((key, kind, body), (1, 7, vec![1, 2, 3]))
            }
            _ => panic!("not the stanza request"),
        }
        assert!(matches!(
            read_msg::<Request>(&mut r),
            Ok(Some(Request::Lock))
        ));
        assert!(matches!(read_msg::<Request>(&mut r), Ok(None)));
        // Too long, cut short, and garbage.
        let huge = ((MAX_MESSAGE + 1) as u32).to_be_bytes();
        assert!(read_msg::<Request>(&mut &huge[..]).is_err());
        assert!(read_msg::<Request>(&mut &[0, 0, 0, 9, 1][..]).is_err());
        assert!(read_msg::<Request>(&mut &[0, 0, 0, 1, 200][..]).is_err());
    }
}

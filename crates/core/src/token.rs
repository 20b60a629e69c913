//! The per-call stream token: the voice webhook puts a random token in the TwiML `<Parameter>`
//! and stores only its hash; the stream host hashes what arrives in `start.customParameters` and
//! consumes the stored hash once. A leaked table therefore yields no usable token.

use sha2::{Digest, Sha256};

/// The stored form of a stream token: lowercase hex SHA-256.
pub fn hash_stream_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_stream_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

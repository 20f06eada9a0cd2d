//! `derive_accept_key` equals tungstenite 0.30's `handshake::derive_accept_key` for any key:
//! arbitrary bytes (servers hash whatever the client sent) and well-formed keys (base64 of
//! 16 random bytes, §4.1 item 7).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use proptest::prelude::*;
use wsspec::codec::handshake::{derive_accept_key, generate_key};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn arbitrary_bytes(key in proptest::collection::vec(any::<u8>(), 0..96)) {
        prop_assert_eq!(derive_accept_key(&key), tungstenite::handshake::derive_accept_key(&key));
    }

    #[test]
    fn well_formed_keys(raw in any::<[u8; 16]>()) {
        let key = B64.encode(raw);
        let ours = derive_accept_key(key.as_bytes());
        prop_assert_eq!(&ours, &tungstenite::handshake::derive_accept_key(key.as_bytes()));
        // base64 of a 20-byte SHA-1 digest.
        prop_assert_eq!(ours.len(), 28);
        prop_assert_eq!(B64.decode(&ours).map(|d| d.len()), Ok(20));
    }
}

#[test]
fn rfc_example_and_generated_keys() {
    // RFC 6455 §1.3 example.
    assert_eq!(
        derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    for _ in 0..64 {
        let k = generate_key();
        assert_eq!(B64.decode(&k).map(|d| d.len()), Ok(16), "{k}");
        assert_eq!(
            derive_accept_key(k.as_bytes()),
            tungstenite::handshake::derive_accept_key(k.as_bytes())
        );
    }
}

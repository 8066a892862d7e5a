//! A development RSA key pair for an application: the private key for the app server
//! (`@vonage/video`'s `privateKey`), the public key for the sandbox.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};

/// A generated key pair, both halves PEM.
pub struct DevKeyPair {
    /// PKCS#8 `PRIVATE KEY` PEM.
    pub private_pem: String,
    /// SPKI `PUBLIC KEY` PEM.
    pub public_pem: String,
}

/// Generates a 2048-bit RSA pair (RS256, as the vendor's application keys).
pub fn generate() -> DevKeyPair {
    generate_with_bits(2048)
}

/// A pair of another size: tests use 1024 bits, which unoptimised builds make much faster.
pub fn generate_with_bits(bits: usize) -> DevKeyPair {
    let mut rng = rand::thread_rng();
    let private = RsaPrivateKey::new(&mut rng, bits).expect("RSA key generation");
    let public = RsaPublicKey::from(&private);
    DevKeyPair {
        private_pem: private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8 encoding")
            .to_string(),
        public_pem: public
            .to_public_key_pem(LineEnding::LF)
            .expect("SPKI encoding"),
    }
}

/// Writes `private.key` (mode 0600) and `public.pem` into `dir`, creating it; returns both paths.
pub fn write_pair(dir: &Path) -> io::Result<(PathBuf, PathBuf)> {
    fs::create_dir_all(dir)?;
    let pair = generate();
    let private_path = dir.join("private.key");
    let public_path = dir.join("public.pem");
    fs::write(&private_path, pair.private_pem)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&private_path, fs::Permissions::from_mode(0o600))?;
    }
    fs::write(&public_path, pair.public_pem)?;
    Ok((private_path, public_path))
}

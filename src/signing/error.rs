//! How a member identity fails: its files, its keys, or the external signer.

use std::path::PathBuf;

/// Something wrong with a member identity: files, keys, or the external signer.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A file could not be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No certificate in the file.
    #[error("{} holds no PEM certificate", .path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// Certificate does not parse, or its key is not usable for member signing.
    #[error("{}: {detail}", .path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// No private key in the file.
    #[error("{} holds no PEM private key", .path.display())]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The key is encrypted.
    #[error(
        "{} is an encrypted private key; noderoll cannot prompt for passphrases: decrypt it \
         (openssl ec -in KEY -out KEY.plain) or use an external signer (signer = \"...\")",
        .path.display()
    )]
    EncryptedKey {
        /// The file.
        path: PathBuf,
    },
    /// Not an ECDSA P-256/P-384 key.
    #[error("{}: {detail}; CCF members sign with ECDSA P-256 or P-384 keys", .path.display())]
    UnsupportedKey {
        /// The file.
        path: PathBuf,
        /// What it is.
        detail: String,
    },
    /// Key and certificate are not a pair.
    #[error("private key {} does not match member certificate {}", .key.display(), .cert.display())]
    KeyMismatch {
        /// Key file.
        key: PathBuf,
        /// Certificate file.
        cert: PathBuf,
    },
    /// The external signer failed to run or exited non-zero.
    #[error("external signer `{command}` failed: {detail}")]
    SignerFailed {
        /// The command.
        command: String,
        /// What happened (exit status and stderr excerpt).
        detail: String,
    },
    /// The external signer's output is not `{"value": "<base64 signature>"}`.
    #[error("external signer `{command}` printed an unusable answer: {detail}")]
    SignerOutput {
        /// The command.
        command: String,
        /// Why it is unusable.
        detail: String,
    },
    /// The signature does not verify with the member certificate's key.
    #[error("external signer `{command}` returned a signature that does not verify against member certificate {} (is it signing with that member's key?)", .cert.display())]
    SignerWrongKey {
        /// The command.
        command: String,
        /// The member certificate.
        cert: PathBuf,
    },
}

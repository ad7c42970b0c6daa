//! TLS to the broker (`mqtt.tls_ca`, with `tls_cert` + `tls_key` for a client certificate), behind the
//! cargo feature `tls`, on by default.
//!
//! Why a feature: the TLS stack (rustls, ring, webpki, and what they instantiate) is 1.1 MB of the
//! binary. In a plain `cargo build --release` a read fault maps the code around what runs, so much of
//! it is resident even when no broker uses TLS: 0.55–0.6 MiB of peak RSS (docs/PERFORMANCE.md, "Where
//! the memory and the frame go"). The packages are linked with the code that runs placed first
//! (deploy/link-hot-first.sh), which leaves it 0.05 MiB ("Hot functions first"). A build whose broker
//! is on the LAN without TLS can still leave it out: `cargo build --release --no-default-features`.
//! Such a build refuses a config that names TLS files (exit 2), rather than connecting in the clear.

use super::connection::SetupError;
use crate::config::MqttConfig;
use rumqttc::v5::MqttOptions;

/// The TLS material, read from the files the config names and checked to be PEM of the right kind.
#[cfg(feature = "tls")]
#[derive(Clone, PartialEq, Eq)]
pub struct TlsFiles {
    ca: Vec<u8>,
    client: Option<(Vec<u8>, Vec<u8>)>,
}

/// Without the `tls` feature there is no TLS material: the config refuses TLS settings.
#[cfg(not(feature = "tls"))]
#[derive(Clone, PartialEq, Eq)]
pub enum TlsFiles {}

impl TlsFiles {
    /// Reads the files `cfg` names now, so a wrong file is reported before anything is torn down and
    /// not at every connection attempt; `None` without `tls_ca`.
    #[cfg(feature = "tls")]
    pub fn read(cfg: &MqttConfig) -> Result<Option<TlsFiles>, SetupError> {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let Some(ca) = &cfg.tls_ca else {
            return Ok(None);
        };
        Ok(Some(TlsFiles {
            ca: read_pem::<CertificateDer>("tls_ca", ca, "certificate")?,
            client: match (&cfg.tls_cert, &cfg.tls_key) {
                (Some(c), Some(k)) => Some((
                    read_pem::<CertificateDer>("tls_cert", c, "certificate")?,
                    read_pem::<PrivateKeyDer>("tls_key", k, "private key")?,
                )),
                _ => None,
            },
        }))
    }

    /// Without the `tls` feature: `None`, or the error the config check gives for TLS settings (which
    /// it refuses before this is reached).
    #[cfg(not(feature = "tls"))]
    pub fn read(cfg: &MqttConfig) -> Result<Option<TlsFiles>, SetupError> {
        match cfg.tls_ca {
            None => Ok(None),
            Some(_) => Err(SetupError::NoTls),
        }
    }

    /// Connects through TLS with this material.
    pub fn apply(&self, options: &mut MqttOptions) {
        #[cfg(feature = "tls")]
        {
            // ring, not aws-lc: it cross-compiles for 32-bit ARM with Debian's cross compilers.
            let _ = rustls::crypto::ring::default_provider().install_default();
            options.set_transport(rumqttc::Transport::tls(
                self.ca.clone(),
                self.client.clone(),
                None,
            ));
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = options;
            match *self {}
        }
    }
}

/// Reads a TLS file and checks that it holds at least one PEM item of kind `T` (what rumqttc will
/// parse when it connects).
#[cfg(feature = "tls")]
fn read_pem<T: rustls::pki_types::pem::PemObject>(
    key: &'static str,
    path: &std::path::Path,
    what: &'static str,
) -> Result<Vec<u8>, SetupError> {
    let bytes = std::fs::read(path).map_err(|source| SetupError::TlsFile {
        key,
        path: path.display().to_string(),
        source,
    })?;
    T::from_pem_slice(&bytes).map_err(|e| SetupError::TlsPem {
        key,
        path: path.display().to_string(),
        what,
        reason: e.to_string(),
    })?;
    Ok(bytes)
}

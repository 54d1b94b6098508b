// SPDX-License-Identifier: GPL-3.0-or-later
//! The supervisor PIN. Supervisor moves (reprint, write off, confirm applied, unlock the line) need a
//! [`Supervisor`], and the only way to get one is [`PinStore::check`]: the rule lives in the engine, not in
//! the screens. The PIN is kept as an Argon2id hash (PHC string) in `supervisor.pin` in the data dir, `0600`.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core,
};

use labelstation_ledger::Actor;

/// The PIN file's name inside the data dir.
pub const PIN_FILE: &str = "supervisor.pin";

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("no supervisor PIN is set on this station: a supervisor sets one first")]
    NotSet,
    #[error("wrong supervisor PIN")]
    Wrong,
    #[error("a PIN is 4 to 12 digits")]
    BadFormat,
    #[error(
        "the supervisor PIN file {path} is readable by other users: run `chmod 600 {path}` (or set the PIN again)"
    )]
    Exposed { path: PathBuf },
    #[error("the supervisor PIN file {path} is damaged: a supervisor sets the PIN again")]
    Damaged { path: PathBuf },
    #[error("cannot {what} the supervisor PIN file {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Proof that a supervisor entered the right PIN. Cannot be made any other way outside this module.
#[derive(Debug, Clone)]
pub struct Supervisor {
    actor: Actor,
}

impl Supervisor {
    /// The ledger actor for this supervisor's moves.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

/// Where the PIN hash lives.
#[derive(Debug, Clone)]
pub struct PinStore {
    path: PathBuf,
}

impl PinStore {
    pub fn new(data_dir: &Path) -> PinStore {
        PinStore {
            path: data_dir.join(PIN_FILE),
        }
    }

    pub fn is_set(&self) -> bool {
        self.path.exists()
    }

    /// Set (or replace) the PIN. Written to a temporary file, synced, then renamed over the old one.
    pub fn set(&self, pin: &str) -> Result<(), PinError> {
        check_format(pin)?;
        let salt = SaltString::generate(&mut rand_core::OsRng);
        let hash = Argon2::default()
            .hash_password(pin.as_bytes(), &salt)
            .map_err(|_| PinError::BadFormat)?
            .to_string();
        let tmp = self.path.with_extension("pin.tmp");
        let io = |what, source| PinError::Io {
            what,
            path: self.path.clone(),
            source,
        };
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io("write", e))?;
        f.write_all(hash.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| io("write", e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| io("replace", e))?;
        Ok(())
    }

    /// Check a PIN entered by `name`; the right PIN yields a [`Supervisor`].
    pub fn check(&self, pin: &str, name: &str) -> Result<Supervisor, PinError> {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PinError::NotSet),
            Err(e) => {
                return Err(PinError::Io {
                    what: "read",
                    path: self.path.clone(),
                    source: e,
                });
            }
        };
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(PinError::Exposed {
                path: self.path.clone(),
            });
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| PinError::Io {
            what: "read",
            path: self.path.clone(),
            source: e,
        })?;
        let hash = PasswordHash::new(text.trim()).map_err(|_| PinError::Damaged {
            path: self.path.clone(),
        })?;
        Argon2::default()
            .verify_password(pin.trim().as_bytes(), &hash)
            .map_err(|_| PinError::Wrong)?;
        Ok(Supervisor {
            actor: Actor::supervisor(name),
        })
    }
}

fn check_format(pin: &str) -> Result<(), PinError> {
    if (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PinError::BadFormat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labelstation_ledger::Role;

    #[test]
    fn right_pin_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = PinStore::new(dir.path());
        assert!(matches!(store.check("1234", "a"), Err(PinError::NotSet)));
        assert!(matches!(store.set("12a4"), Err(PinError::BadFormat)));
        assert!(matches!(store.set("123"), Err(PinError::BadFormat)));
        store.set("4821").unwrap();
        assert!(matches!(store.check("4822", "a"), Err(PinError::Wrong)));
        let s = store.check("4821", "shift-lead").unwrap();
        assert_eq!(s.actor().role, Role::Supervisor);
        assert_eq!(s.actor().name, "shift-lead");
        let text = std::fs::read_to_string(dir.path().join(PIN_FILE)).unwrap();
        assert!(text.starts_with("$argon2id$"), "{text}");
        assert!(!text.contains("4821"));
        store.set("9999").unwrap();
        assert!(matches!(store.check("4821", "a"), Err(PinError::Wrong)));
    }

    #[test]
    fn exposed_or_damaged_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = PinStore::new(dir.path());
        store.set("4821").unwrap();
        let path = dir.path().join(PIN_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            store.check("4821", "a"),
            Err(PinError::Exposed { .. })
        ));
        std::fs::write(&path, "garbage").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            store.check("4821", "a"),
            Err(PinError::Damaged { .. })
        ));
    }
}

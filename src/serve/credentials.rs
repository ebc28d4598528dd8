//! The access keys `sgsim serve` accepts (SPEC §9): a TOML file of `[[keys]]` with `id`
//! and `secret`, the variable `SGSIM_CREDENTIALS` as `id:secret[,id:secret]`, or the
//! development pair `testid`/`testsecret`.

use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// The development key id of `--insecure-dev`.
pub const DEV_ID: &str = "testid";
/// The development secret of `--insecure-dev`.
pub const DEV_SECRET: &str = "testsecret";

/// Access key ids and their secrets.
#[derive(Clone, Default)]
pub struct Credentials {
    keys: HashMap<String, String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are never printed.
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("Credentials").field("ids", &ids).finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKeys {
    keys: Vec<FileKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKey {
    id: String,
    secret: String,
}

impl Credentials {
    /// The development pair only.
    pub fn insecure_dev() -> Credentials {
        let mut c = Credentials::default();
        c.keys.insert(DEV_ID.into(), DEV_SECRET.into());
        c
    }

    /// Parses the text of a credentials file (TOML: `[[keys]] id = "…" secret = "…"`);
    /// `shown` names the file in errors.
    pub fn from_toml(text: &str, shown: &str) -> Result<Credentials, String> {
        let parsed: FileKeys = toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            match e.span() {
                Some(span) => {
                    let line = text
                        .get(..span.start)
                        .map_or(0, |t| t.lines().count().max(1));
                    format!("{shown}:{line}: {msg}")
                }
                None => format!("{shown}: {msg}"),
            }
        })?;
        let mut c = Credentials::default();
        for (i, k) in parsed.keys.into_iter().enumerate() {
            c.insert(k.id, k.secret)
                .map_err(|e| format!("{shown}: keys[{i}]: {e}"))?;
        }
        if c.keys.is_empty() {
            return Err(format!("{shown}: no [[keys]] given"));
        }
        Ok(c)
    }

    /// Reads a credentials file.
    pub fn from_file(path: &Path) -> Result<Credentials, String> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{shown}: cannot read: {}", crate::world_file::io_reason(&e)))?;
        Credentials::from_toml(&text, &shown)
    }

    /// Parses `id:secret[,id:secret]` (the value of `SGSIM_CREDENTIALS`).
    pub fn from_env_value(value: &str) -> Result<Credentials, String> {
        let mut c = Credentials::default();
        for (i, pair) in value.split(',').enumerate() {
            let pair = pair.trim();
            let Some((id, secret)) = pair.split_once(':') else {
                return Err(format!(
                    "SGSIM_CREDENTIALS: pair {} is not `id:secret`",
                    i + 1
                ));
            };
            c.insert(id.trim().to_string(), secret.to_string())
                .map_err(|e| format!("SGSIM_CREDENTIALS: pair {}: {e}", i + 1))?;
        }
        Ok(c)
    }

    fn insert(&mut self, id: String, secret: String) -> Result<(), String> {
        if id.is_empty() || secret.is_empty() {
            return Err("empty id or secret".into());
        }
        if !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "id `{}` has spaces or control characters",
                id.escape_debug()
            ));
        }
        if self.keys.insert(id.clone(), secret).is_some() {
            return Err(format!("id `{id}` given twice"));
        }
        Ok(())
    }

    /// The secret of a key id.
    pub fn secret(&self, id: &str) -> Option<&str> {
        self.keys.get(id).map(String::as_str)
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_env_forms() {
        let c = Credentials::from_toml(
            "[[keys]]\nid = \"a\"\nsecret = \"s1\"\n[[keys]]\nid = \"b\"\nsecret = \"s:2\"\n",
            "creds.toml",
        )
        .unwrap();
        assert_eq!(c.secret("a"), Some("s1"));
        assert_eq!(c.secret("b"), Some("s:2"));
        assert_eq!(c.secret("c"), None);
        let e = Credentials::from_toml("[[keys]]\nid = \"a\"\n", "creds.toml").unwrap_err();
        assert!(e.starts_with("creds.toml:"), "{e}");
        assert!(Credentials::from_toml("keys = []", "c").is_err());
        let c = Credentials::from_env_value("x:y, z:w:v").unwrap();
        assert_eq!(c.secret("x"), Some("y"));
        assert_eq!(c.secret("z"), Some("w:v"));
        assert!(Credentials::from_env_value("x").is_err());
        assert!(Credentials::from_env_value("x:y,x:z").is_err());
        assert!(!format!("{:?}", Credentials::insecure_dev()).contains(DEV_SECRET));
    }
}

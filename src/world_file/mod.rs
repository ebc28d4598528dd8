//! World files (SPEC §5): TOML or JSON, one schema, read whole and validated by the same
//! code path as the API ([`crate::api::permission`]), and written back by `sgsim call`.
//!
//! Decisions where the SPEC is silent (documented in `docs/decisions.md`): rules, groups and
//! prefix lists may carry a `create_time` (written back by `sgsim call` so it survives a
//! round trip); a prefix-list entry is a CIDR string or a table `{ cidr, description }`; every
//! ENI needs at least one group, as in the cloud.

mod build;
mod edit;
mod raw;
pub mod reference;
mod write;

pub use crate::wire::snake_case;
pub(crate) use build::build_world;
pub use edit::{edit_text, Edited};
pub(crate) use raw::{parse_doc, RawDoc};
pub use write::{rule_to_keys, to_string};

use crate::api::ApiError;
use crate::model::World;
use std::fmt;
use std::path::Path;

/// The two encodings of a world file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.toml`
    Toml,
    /// `.json`
    Json,
}

impl Format {
    /// The format of a path, by its extension (`.json` or `.toml`).
    pub fn of_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// A world file that could not be loaded: where, and what is wrong. Displays as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldError {
    /// The file (or other origin) read.
    pub origin: String,
    /// 1-based line and column, where the parser knows them.
    pub position: Option<(usize, usize)>,
    /// The object and field concerned (`group `sg-web` rule 3 field `port_range``), if any.
    pub context: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The API error a rule failed with, when a rule check failed.
    pub api_error: Option<Box<ApiError>>,
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.origin.clone();
        if let Some((l, c)) = self.position {
            s.push_str(&format!(":{l}:{c}"));
        }
        if let Some(ctx) = &self.context {
            s.push_str(&format!(": {ctx}"));
        }
        s.push_str(&format!(": {}", self.message));
        f.write_str(&one_line(&s))
    }
}

/// Escapes line breaks and other control characters so a message stays on one line.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl std::error::Error for WorldError {}

/// The most characters of an input that an error message quotes.
pub const QUOTE_LIMIT: usize = 200;

/// A piece of input as an error message quotes it: at most [`QUOTE_LIMIT`] characters, with
/// `…` and the full length in bytes when cut.
pub fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_LIMIT) {
        None => s.to_string(),
        Some((end, _)) => format!("{}… ({} bytes)", &s[..end], s.len()),
    }
}

/// Loads and validates a world file; the format is chosen by the extension.
pub fn load(path: &Path) -> Result<World, WorldError> {
    load_with_text(path).map(|(world, _)| world)
}

/// Loads a world file as [`load`] does, and returns the text read too (for
/// [`edit_text`], which writes changes back into it).
pub fn load_with_text(path: &Path) -> Result<(World, String), WorldError> {
    let origin = path.display().to_string();
    let format = Format::of_path(path).ok_or_else(|| WorldError {
        origin: origin.clone(),
        position: None,
        context: None,
        message: "unknown world file extension: use `.toml` or `.json`".into(),
        api_error: None,
    })?;
    let text = std::fs::read_to_string(path).map_err(|e| WorldError {
        origin: origin.clone(),
        position: None,
        context: None,
        message: format!("cannot read: {}", io_reason(&e)),
        api_error: None,
    })?;
    let world = load_str_in(reference::strip_bom(&text), format, &origin, path.parent())?;
    Ok((world, text))
}

/// Reads a file to a string, with a one-line error naming it.
pub(crate) fn read(path: &Path) -> Result<String, WorldError> {
    std::fs::read_to_string(path)
        .map(|t| reference::strip_bom(&t).to_string())
        .map_err(|e| WorldError {
            origin: path.display().to_string(),
            position: None,
            context: None,
            message: format!("cannot read: {}", io_reason(&e)),
            api_error: None,
        })
}

/// A short, lower-case reason for an I/O error.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::InvalidData => "not valid UTF-8 text".into(),
        _ => {
            let s = e.to_string();
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            s.to_lowercase()
        }
    }
}

/// Loads and validates a world from text. `origin` names it in errors.
pub fn load_str(text: &str, format: Format, origin: &str) -> Result<World, WorldError> {
    load_str_in(text, format, origin, None)
}

/// [`load_str`] with the folder that `{ import = "FILE.json" }` paths are relative to.
fn load_str_in(
    text: &str,
    format: Format,
    origin: &str,
    base: Option<&Path>,
) -> Result<World, WorldError> {
    let doc: RawDoc<serde::de::IgnoredAny> = parse_doc(text, format, origin)?;
    for (key, present) in [
        ("name", doc.name.is_some()),
        ("description", doc.description.is_some()),
        ("steps", doc.steps.is_some()),
        ("world", doc.world.is_some()),
    ] {
        if present {
            return Err(WorldError {
                origin: origin.to_string(),
                position: None,
                context: None,
                message: format!("unknown key `{key}` (only scenario files have it)"),
                api_error: None,
            });
        }
    }
    build_world(doc, origin, base)
}

thread_local! {
    /// Notes of the loads on this thread, for the user ([`take_load_notes`]).
    static LOAD_NOTES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Takes the notes that loading world files on this thread left for the user (an imported
/// Describe response taken as a basic group, …), oldest first.
pub fn take_load_notes() -> Vec<String> {
    LOAD_NOTES.with(|n| std::mem::take(&mut *n.borrow_mut()))
}

/// An imported response without a `type` beside it becomes a basic (`normal`) group: the
/// Describe answer does not say which type the group is, so the user is told.
fn note_basic(response: &serde_json::Value, what: &str) {
    if response.get("type").is_none() {
        let id = response
            .get("SecurityGroupId")
            .and_then(|v| v.as_str())
            .unwrap_or("?");
        let note = format!(
            "group `{}` ({what}) is taken as a basic (normal) group: a Describe response does \
             not say the type; add `type = \"enterprise\"` beside it for an advanced group",
            quote(id)
        );
        LOAD_NOTES.with(|n| {
            let mut n = n.borrow_mut();
            if !n.contains(&note) {
                n.push(note);
            }
        });
    }
}

// ---------------------------------------------------------------------------------------
// Import (SPEC §5): a `DescribeSecurityGroupAttribute` response as a group. The conversion
// itself lives in `crate::api::import`; this is only the hook.

/// An element of `security_groups` that is a `DescribeSecurityGroupAttribute` response
/// (recognised by its `SecurityGroupId` key) or `{ import = "FILE.json", … }` naming one
/// (relative to `base`, the world file's folder) becomes a plain group element. Other keys
/// of an `import` element (`type`, `owner_id`, …) apply to the imported group. Any other
/// element is returned as it is.
fn import_group(
    value: serde_json::Value,
    base: Option<&Path>,
) -> Result<serde_json::Value, String> {
    use crate::api::import::{describe_to_group, PASS_THROUGH};
    let Some(obj) = value.as_object() else {
        return Ok(value);
    };
    if let Some(file) = obj.get("import") {
        let file = file
            .as_str()
            .ok_or("field `import`: must be the name of a JSON file")?;
        let path =
            reference::resolve_under(base, file).map_err(|m| format!("field `import`: {m}"))?;
        let shown = path.display();
        let text = reference::read_bounded(&path)
            .map_err(|m| format!("field `import`: cannot read `{shown}`: {m}"))?;
        if let Err((pos, m)) = raw::check_json_keys(&text) {
            let at = pos.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default();
            return Err(format!("field `import`: `{shown}{at}`: {m}"));
        }
        let mut response: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("field `import`: `{shown}` is not JSON: {e}"))?;
        if let serde_json::Value::Object(r) = &mut response {
            for (k, v) in obj {
                if k == "import" {
                    continue;
                }
                if !PASS_THROUGH.contains(&k.as_str()) {
                    return Err(format!("unknown key `{k}` beside `import`"));
                }
                r.insert(k.clone(), v.clone());
            }
        }
        note_basic(&response, &format!("import `{shown}`"));
        return describe_to_group(&response).map_err(|m| format!("import `{shown}`: {m}"));
    }
    if obj.contains_key("SecurityGroupId") {
        note_basic(&value, "an imported response");
        return describe_to_group(&value).map_err(|m| format!("imported response: {m}"));
    }
    Ok(value)
}

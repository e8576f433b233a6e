//! The built-in applications, chosen with `--app`.

pub mod chat;
pub mod conformance;
mod suite;

use ferrio_hub::Hub;

use crate::config::AppKind;

/// Installs the application `app` on `hub`.
pub fn install(app: AppKind, hub: &Hub) {
    match app {
        AppKind::Chat => chat::install(hub),
        AppKind::Conformance => {
            conformance::install(hub, &conformance::Log::default());
        }
        AppKind::Suite => suite::install(hub),
        AppKind::None => {}
    }
}

/// A value as JavaScript's string concatenation writes it, so the apps answer exactly as
/// their 0.9 originals (`data.nome + ":" + data.msg`).
pub(crate) fn js_text(value: Option<&serde_json::Value>) -> String {
    use serde_json::Value;
    match value {
        None => "undefined".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) => "null".to_owned(),
        Some(Value::Bool(flag)) => flag.to_string(),
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Null => String::new(),
                other => js_text(Some(other)),
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Object(_)) => "[object Object]".to_owned(),
    }
}

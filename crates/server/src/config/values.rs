//! How setting values are read from text and shown in `--help`: the parsers the settings
//! table names, and how each value type prints as a default.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::ValueEnum;
use ferrio_hub::Origins;
use ferrio_protocol::TransportKind;
use http::Uri;

use super::{AppKind, ServerConfigError, invalid};

/// A value type a setting can hold.
pub(super) trait SettingValue {
    /// A bare flag (`--flashsocket`) means `true`.
    const SWITCH: bool = false;
    /// `--help` does not show the variable's value, and the text is taken as written, spaces
    /// included.
    const SECRET: bool = false;

    /// The value as someone would write it; `None` when there is nothing to write (no value,
    /// an empty list).
    fn shown(&self) -> Option<String>;
}

/// Types whose `Display` is how a setting is written.
macro_rules! shown_as_displayed {
    ($($ty:ty),* $(,)?) => {$(
        impl SettingValue for $ty {
            fn shown(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}

shown_as_displayed!(
    IpAddr, SocketAddr, u16, u32, usize, f64, String, Origins, Uri
);

impl SettingValue for PathBuf {
    fn shown(&self) -> Option<String> {
        Some(self.display().to_string())
    }
}

impl SettingValue for bool {
    const SWITCH: bool = true;

    fn shown(&self) -> Option<String> {
        Some(if *self { "on" } else { "off" }.to_owned())
    }
}

impl SettingValue for Duration {
    fn shown(&self) -> Option<String> {
        Some(self.as_secs_f64().to_string())
    }
}

impl SettingValue for AppKind {
    fn shown(&self) -> Option<String> {
        self.to_possible_value()
            .map(|value| value.get_name().to_owned())
    }
}

impl<T: fmt::Display> SettingValue for Vec<T> {
    fn shown(&self) -> Option<String> {
        (!self.is_empty()).then(|| {
            self.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
    }
}

impl<T: SettingValue> SettingValue for Option<T> {
    const SECRET: bool = T::SECRET;

    fn shown(&self) -> Option<String> {
        self.as_ref().and_then(SettingValue::shown)
    }
}

/// A value that stays out of `Debug` output, and so out of logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl SettingValue for Secret {
    const SECRET: bool = true;

    fn shown(&self) -> Option<String> {
        None
    }
}

/// Namespace names as the hub knows them, where the default namespace is `""`; settings
/// write it `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespaces(pub Vec<String>);

impl SettingValue for Namespaces {
    fn shown(&self) -> Option<String> {
        self.0
            .iter()
            .map(|name| if name.is_empty() { "/" } else { name })
            .collect::<Vec<_>>()
            .shown()
    }
}

/// Reads an optional setting's value with the parser of the value itself.
pub(super) fn some<T>(
    parse: impl Fn(&str) -> Result<T, String>,
) -> impl Fn(&str) -> Result<Option<T>, String> {
    move |text| parse(text).map(Some)
}

pub(super) fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| "is not a number of seconds".to_owned())?;
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 86_400.0 {
        return Err("must be more than 0 and at most 86400 seconds".to_owned());
    }
    Ok(Duration::from_secs_f64(seconds))
}

pub(super) fn parse_seconds_or_zero(text: &str) -> Result<Duration, String> {
    if text.parse::<f64>().is_ok_and(|seconds| seconds == 0.0) {
        return Ok(Duration::ZERO);
    }
    parse_seconds(text)
}

pub(super) fn parse_number<T: FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| "is not a whole number in range".to_owned())
}

pub(super) fn parse_positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err("must be a number above 0".to_owned()),
    }
}

pub(super) fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("is not true or false".to_owned()),
    }
}

pub(super) fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse().map_err(|_| "is not an IP address".to_owned())
}

pub(super) fn parse_socket_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| "is not an address and port such as 127.0.0.1:7000".to_owned())
}

pub(super) fn parse_text(text: &str) -> Result<String, String> {
    Ok(text.to_owned())
}

/// An empty secret is no secret: the feature it guards stays off.
pub(super) fn parse_secret(text: &str) -> Result<Option<Secret>, String> {
    Ok((!text.is_empty()).then(|| Secret(text.to_owned())))
}

pub(super) fn parse_path(text: &str) -> Result<PathBuf, String> {
    if text.is_empty() {
        return Err("is empty".to_owned());
    }
    Ok(PathBuf::from(text))
}

pub(super) fn parse_uri(text: &str) -> Result<Uri, String> {
    text.parse()
        .map_err(|error: http::uri::InvalidUri| error.to_string())
}

pub(super) fn parse_origins(text: &str) -> Result<Origins, String> {
    text.parse()
        .map_err(|error: ferrio_hub::OriginsParseError| error.to_string())
}

pub(super) fn parse_app(text: &str) -> Result<AppKind, String> {
    AppKind::from_str(text, true).map_err(|_| "is not chat, conformance, suite or none".to_owned())
}

pub(super) fn parse_list(text: &str) -> Result<Vec<String>, String> {
    Ok(text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect())
}

pub(super) fn parse_namespaces(text: &str) -> Result<Namespaces, String> {
    Ok(Namespaces(
        parse_list(text)?
            .into_iter()
            .map(|name| if name == "/" { String::new() } else { name })
            .collect(),
    ))
}

pub(super) fn parse_transports(text: &str) -> Result<Vec<TransportKind>, String> {
    let mut transports = Vec::new();
    for name in parse_list(text)? {
        let kind: TransportKind = name
            .parse()
            .map_err(|_| format!("names an unknown transport `{name}`"))?;
        if !transports.contains(&kind) {
            transports.push(kind);
        }
    }
    if transports.is_empty() {
        return Err("names no transport".to_owned());
    }
    Ok(transports)
}

/// A value of the `--config` file as the text a flag would hold: numbers and booleans as
/// written, lists joined with commas.
pub(super) fn toml_text(key: &str, value: &toml::Value) -> Result<String, ServerConfigError> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Float(number) => Ok(number.to_string()),
        toml::Value::Boolean(flag) => Ok(flag.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                toml::Value::String(text) => Ok(text.clone()),
                _ => invalid(key, "list items must be strings"),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|items| items.join(",")),
        _ => invalid(key, "must be a string, number, boolean or list of strings"),
    }
}

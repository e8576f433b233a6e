//! The command line: `--config`, `--healthcheck`, and a flag with a `FERRIO_*` variable for
//! every entry of the settings table. Values are kept as text until the file's, the
//! environment's and the flags' are merged, so only the winning text of each setting is read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, ArgMatches, Command, Parser};

use super::settings::{Listen, Setting, Settings};
use super::values::toml_text;
use super::{ServerConfig, ServerConfigError};

/// The command line. Every setting has a flag, a `FERRIO_*` environment variable and a
/// `snake_case` key in the `--config` file; flags override the environment, which overrides
/// the file.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "ferrio",
    version,
    about = "A real-time gateway speaking the Socket.IO 0.9 protocol over every transport old and new browsers have.",
    after_help = "Durations are seconds (fractions allowed). Every flag can also be set with the environment \
                  variable shown, or as a snake_case key in the --config TOML file \
                  (for example heartbeat_interval = 25)."
)]
pub struct Cli {
    /// TOML file with settings (keys as the flags, in snake_case).
    #[arg(long, env = "FERRIO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Instead of serving: ask the admin listener of a running gateway (as configured) for
    /// /healthz and exit 0 when it answers 200 — the container HEALTHCHECK.
    #[arg(long)]
    pub healthcheck: bool,
    #[command(flatten)]
    given: Given,
}

/// The settings given by flags or environment variables (clap decides between the two), as
/// written, by key.
#[derive(Debug, Clone, Default)]
struct Given(BTreeMap<&'static str, String>);

impl clap::Args for Given {
    fn augment_args(command: Command) -> Command {
        let defaults = Settings::default();
        Setting::ALL.iter().fold(command, |command, setting| {
            command.arg(arg(setting, &defaults))
        })
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl clap::FromArgMatches for Given {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Given::default();
        given.update_from_arg_matches(matches)?;
        Ok(given)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for setting in Setting::ALL {
            if let Some(text) = matches.get_one::<String>(setting.key()) {
                self.0.insert(setting.key(), text.clone());
            }
        }
        Ok(())
    }
}

/// The flag of `setting`, its variable, and its help with the default from `defaults`.
fn arg(setting: &Setting, defaults: &Settings) -> Arg {
    let arg = Arg::new(setting.key())
        .long(setting.flag())
        .env(setting.env())
        .value_name(setting.key().to_ascii_uppercase())
        .value_parser(clap::value_parser!(String))
        .action(ArgAction::Set)
        .hide_env_values(setting.is_secret())
        .help(format!(
            "{} [default: {}]",
            setting.help(),
            setting.shown_default(defaults)
        ));
    if setting.is_switch() {
        arg.num_args(0..=1).default_missing_value("true")
    } else {
        arg
    }
}

impl Cli {
    /// The settings: the file's, then the environment's and the flags' over them, each
    /// winning text read and checked.
    pub fn settings(&self) -> Result<Settings, ServerConfigError> {
        let mut texts = match &self.config {
            Some(path) => file_texts(path)?,
            None => BTreeMap::new(),
        };
        texts.extend(self.given.0.iter().map(|(key, text)| (*key, text.clone())));
        let mut settings = Settings::default();
        for setting in Setting::ALL {
            if let Some(text) = texts.get(setting.key()) {
                setting.apply(&mut settings, text)?;
            }
        }
        Ok(settings)
    }

    /// Where the public listener binds.
    pub fn listen(&self) -> Result<Listen, ServerConfigError> {
        Ok(self.settings()?.listen())
    }

    /// The server configuration these settings describe, checked.
    pub fn server_config(&self) -> Result<ServerConfig, ServerConfigError> {
        self.settings()?.server_config()
    }
}

/// The settings of a `--config` file, as text by key; a key that names no setting is refused.
fn file_texts(path: &Path) -> Result<BTreeMap<&'static str, String>, ServerConfigError> {
    let file_error = |why: String| ServerConfigError::File {
        path: path.to_path_buf(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|error| file_error(error.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|error: toml::de::Error| file_error(error.to_string()))?;
    let mut texts = BTreeMap::new();
    for (key, value) in table {
        let Some(setting) = Setting::named(&key) else {
            return Err(file_error(format!("unknown setting `{key}`")));
        };
        texts.insert(setting.key(), toml_text(setting.key(), &value)?);
    }
    Ok(texts)
}

//! `--config FILE` (or `LENTERA_CONFIG`): settings from a TOML file, as an alternative to long
//! command lines and environment variables in service files.
//!
//! Each key is a long option's name (`port`, `data-dir`, `max-upload-mib`, `private`…) and
//! becomes that option's environment variable when the environment does not set it already,
//! so the precedence is: command line, then environment, then file. `secret` and `log` set
//! `LENTERA_SECRET` and `LENTERA_LOG`. An unknown key is an error naming it: a typo in a
//! service's configuration must not pass silently.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::CommandFactory;

use crate::args::Cli;

/// Keys that are not options: the secret and the log filter.
const EXTRA: [(&str, &str); 2] = [("secret", "LENTERA_SECRET"), ("log", "LENTERA_LOG")];

/// Finds `--config FILE` in `args` (or `LENTERA_CONFIG`) and sets the environment variables
/// of the settings it holds that the environment does not set.
pub fn apply(args: impl Iterator<Item = OsString>) -> Result<(), String> {
    let Some(path) = config_path(args) else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the configuration file {}: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{} is not valid TOML: {e}", path.display()))?;
    let envs = option_envs();
    for (key, value) in table {
        let Some(env) = envs.get(key.as_str()) else {
            let known: Vec<&str> = envs
                .keys()
                .map(String::as_str)
                .filter(|k| !EXTRA.iter().any(|(e, _)| e == k))
                .collect();
            return Err(format!(
                "{}: unknown setting `{key}`; settings are the long options of the commands \
                 ({}), `secret` and `log`",
                path.display(),
                known.join(", ")
            ));
        };
        let text = match &value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(","),
            other => {
                return Err(format!(
                    "{}: setting `{key}` must be a string, number, true/false or a list, not {}",
                    path.display(),
                    other.type_str()
                ))
            }
        };
        if std::env::var_os(env).is_none() {
            // Safe here: called at the start of `main`, before any other thread exists.
            std::env::set_var(env, text);
        }
    }
    Ok(())
}

/// The file named by `--config FILE`, `--config=FILE` or `LENTERA_CONFIG`.
fn config_path(args: impl Iterator<Item = OsString>) -> Option<PathBuf> {
    let mut args = args.skip(1);
    while let Some(a) = args.next() {
        if a == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = a.to_str().and_then(|a| a.strip_prefix("--config=")) {
            return Some(PathBuf::from(path));
        }
        if a == "--" {
            break;
        }
    }
    std::env::var_os("LENTERA_CONFIG").map(PathBuf::from)
}

/// Every long option that has an environment variable, over all commands, and the extras.
fn option_envs() -> BTreeMap<String, String> {
    fn walk(cmd: &clap::Command, out: &mut BTreeMap<String, String>) {
        for arg in cmd.get_arguments() {
            if let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) {
                if long != "config" {
                    out.insert(long.to_string(), env.to_string_lossy().into_owned());
                }
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = BTreeMap::new();
    walk(&Cli::command(), &mut out);
    out.extend(EXTRA.map(|(k, v)| (k.to_string(), v.to_string())));
    out
}

use std::process::ExitCode;

use tape_scenarios::{builtin, Scenario};

use super::{EXIT_INPUT, EXIT_OK};

/// Arguments of `tape scenarios`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `tape scenarios` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print a built-in scenario's TOML, to copy and edit.
    Show {
        /// The scenario's name.
        name: String,
    },
}

/// Lists the built-in scenarios, or prints one.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        None => {
            let width = builtin::BUILTINS
                .iter()
                .map(|b| b.name.len())
                .max()
                .unwrap_or(0);
            for b in builtin::BUILTINS {
                let description = Scenario::from_toml(b.toml, b.name)
                    .map(|s| s.description)
                    .unwrap_or_default();
                say!("{:<width$} {description}", b.name);
            }
            Ok(ExitCode::from(EXIT_OK))
        }
        Some(Command::Show { name }) => match builtin::find(&name) {
            Some(b) => {
                say!("{}", b.toml.trim_end());
                Ok(ExitCode::from(EXIT_OK))
            }
            None => {
                let names: Vec<&str> = builtin::BUILTINS.iter().map(|b| b.name).collect();
                eprintln!(
                    "tape: no built-in scenario named '{name}' (built-ins: {})",
                    names.join(", ")
                );
                Ok(ExitCode::from(EXIT_INPUT))
            }
        },
    }
}

//! `nexus secret generate`: a new hook secret in the Standard Webhooks form, `whsec_` and the
//! base64 of 32 random bytes, for both `NEXUS_WEBHOOK_SECRET` and the edge's `webhooksecret`.

use std::process::ExitCode;

use clap::Subcommand;

/// `nexus secret ...`.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Print a new secret: `whsec_` + base64 of 32 random bytes from the OS generator.
    /// Give the same value to the edge (webhooksecret) and to the hook (NEXUS_WEBHOOK_SECRET).
    Generate {
        /// Print {"secret": "..."} instead of the bare secret.
        #[arg(long)]
        json: bool,
    },
}

/// A new secret.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    nexus_core::signature::Secret::generate_text(&bytes)
}

/// Runs `nexus secret ...`.
pub fn run(cmd: SecretCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SecretCommand::Generate { json } => {
            let s = generate();
            if json {
                println!("{}", serde_json::json!({ "secret": s }));
            } else {
                println!("{s}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_parse_and_differ() {
        let a = super::generate();
        assert!(a.starts_with("whsec_") && a.len() == 6 + 44);
        assert_ne!(a, super::generate());
        nexus_core::signature::Secret::parse(&a).unwrap();
    }
}

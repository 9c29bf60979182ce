//! The command-line options of `s3://` remotes, flattened into every remote
//! command's options: what the AWS tools read from the environment or the
//! profile files and a user may want to give per command (`--endpoint`),
//! and the two ways to accept a weaker guarantee, each named after what it
//! gives up.
//!
//! Secrets have no options on purpose: a process's arguments are visible
//! to every user of the machine (`ps`, `/proc/PID/cmdline`), so keys and
//! tokens come only from the environment or `~/.aws/credentials` (see
//! `transport::s3::config`).

use clap::Args;

use super::error::CliError;
use vault::transport::{ConnectOptions, Location};

/// Options that only `s3://` remotes use.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "S3 options (s3:// remotes only)")]
pub struct S3Opts {
    /// The store's endpoint, https://host[:port], for any store but AWS
    /// itself [before AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL and the
    /// profile's endpoint_url; default: AWS, https://s3.REGION.amazonaws.com]
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Allow plain http:// to an endpoint that is not on loopback: the
    /// signed requests (with any session token) and the object names and
    /// sizes then cross the network in the clear, and anyone on the path
    /// can read, replay, alter or drop them (the payloads stay sealed)
    #[arg(long)]
    pub insecure_plain_http: bool,
    /// Use a store that ignores conditional writes (If-None-Match,
    /// If-Match): two commands rewriting the same object at once (share,
    /// unshare, mv) can then silently undo each other's change (see
    /// docs/FORMAT.md, "Stores without conditional writes")
    #[arg(long)]
    pub allow_lost_updates: bool,
}

impl S3Opts {
    /// Whether any option was given.
    fn any(&self) -> bool {
        self.endpoint.is_some() || self.insecure_plain_http || self.allow_lost_updates
    }

    /// Refuse the options for a location that is not `s3://` (they would be
    /// ignored silently), else copy them into `copts`.
    pub fn apply(&self, loc: &Location, copts: &mut ConnectOptions) -> Result<(), CliError> {
        if !matches!(loc, Location::S3(_)) {
            if self.any() {
                return Err(CliError::Usage(
                    "--endpoint, --insecure-plain-http and --allow-lost-updates apply only to \
                     s3:// remotes"
                        .into(),
                ));
            }
            return Ok(());
        }
        copts.s3_endpoint = self.endpoint.clone();
        copts.insecure_plain_http = self.insecure_plain_http;
        copts.allow_unconditional_writes = self.allow_lost_updates;
        Ok(())
    }
}

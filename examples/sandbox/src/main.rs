//! `video-handoff-sandbox [serve flags]` or `video-handoff-sandbox keygen --out DIR`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use video_handoff_sandbox::config::CallbackFaults;
use video_handoff_sandbox::{keygen, start, Config};

#[derive(Parser)]
#[command(version, about = "Local emulator of the Vonage Video API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to bind (keep it local).
    #[arg(long, env = "SANDBOX_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port; 0 picks a free one.
    #[arg(long, env = "SANDBOX_PORT", default_value_t = 3410)]
    port: u16,
    /// The application ID tokens must carry.
    #[arg(
        long,
        env = "SANDBOX_APPLICATION_ID",
        default_value = "sandbox-application"
    )]
    application_id: String,
    /// The application's RSA public key (PEM file), e.g. `public.pem` from `keygen`.
    #[arg(long, env = "SANDBOX_PUBLIC_KEY_FILE")]
    public_key_file: Option<PathBuf>,
    /// The application's RSA public key as PEM text (instead of a file).
    #[arg(long, env = "SANDBOX_PUBLIC_KEY", hide_env_values = true)]
    public_key: Option<String>,
    /// Where session-monitoring callbacks are POSTed. Repeat it (or give a comma-separated
    /// list) for several app-server instances: deliveries take turns (round robin).
    #[arg(long, env = "SANDBOX_CALLBACK_URL", value_delimiter = ',')]
    callback_url: Vec<String>,
    /// The application's signature secret: signs every callback (HS256 JWT in
    /// `Authorization`). Without it callbacks are unsigned (signed callbacks off).
    #[arg(long, env = "SANDBOX_SIGNATURE_SECRET", hide_env_values = true)]
    signature_secret: Option<String>,
    /// Test fault: deliver every callback twice.
    #[arg(long, env = "SANDBOX_CALLBACK_DUPLICATES")]
    callback_duplicates: bool,
    /// Test fault: deliver callbacks out of order (every other one overtaken by the next).
    #[arg(long, env = "SANDBOX_CALLBACK_REORDER")]
    callback_reorder: bool,
    /// Default rotation notice in milliseconds.
    #[arg(long, env = "SANDBOX_ROTATION_NOTICE_MS", default_value_t = 3_600_000)]
    rotation_notice_ms: u64,
    /// The admin API's bearer token (a per-run secret; at least 16 characters). Without
    /// it the admin API (rotation on demand, test hooks) is off.
    #[arg(long, env = "SANDBOX_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// UDP port of the media router that routed sessions' media passes through; 0 picks a
    /// free one.
    #[arg(long, env = "SANDBOX_MEDIA_PORT", default_value_t = 0)]
    media_port: u16,
    /// Address the media router binds and announces (its ICE candidate); `--host` unless
    /// set. Firefox pages need a non-loopback address of this machine here: Firefox never
    /// pairs with a loopback candidate.
    #[arg(long, env = "SANDBOX_MEDIA_HOST")]
    media_host: Option<IpAddr>,
}

#[derive(Subcommand)]
enum Command {
    /// Write a dev RSA key pair: `private.key` (for the app server) and `public.pem` (for the sandbox).
    Keygen {
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Keygen { out }) = cli.command {
        return match keygen::write_pair(&out) {
            Ok((private, public)) => {
                println!(
                    "{}",
                    serde_json::json!({"privateKeyFile": private, "publicKeyFile": public})
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("sandbox: cannot write keys to {}: {e}", out.display());
                ExitCode::FAILURE
            }
        };
    }
    let public_key_pem = match (&cli.public_key, &cli.public_key_file) {
        (Some(pem), _) => pem.clone(),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(pem) => pem,
            Err(e) => {
                eprintln!("sandbox: cannot read {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        (None, None) => {
            eprintln!(
                "sandbox: no public key: pass --public-key-file (make one with `keygen --out DIR`)"
            );
            return ExitCode::FAILURE;
        }
    };
    if cli.admin_token.as_ref().is_some_and(|t| t.len() < 16) {
        eprintln!(
            "sandbox: --admin-token must be at least 16 characters (a random per-run secret)"
        );
        return ExitCode::FAILURE;
    }
    let config = Config {
        host: cli.host,
        port: cli.port,
        application_id: cli.application_id,
        public_key_pem,
        callback_urls: cli.callback_url,
        signature_secret: cli.signature_secret.filter(|s| !s.is_empty()),
        callback_faults: CallbackFaults {
            duplicate: cli.callback_duplicates,
            reorder: cli.callback_reorder,
        },
        rotation_notice_ms: cli.rotation_notice_ms,
        admin_token: cli.admin_token,
        media_port: cli.media_port,
        media_host: cli.media_host,
    };
    if !config.callback_urls.is_empty() && config.signature_secret.is_none() {
        eprintln!("sandbox: callbacks are unsigned (no --signature-secret); signed-callback receivers will refuse them");
    }
    let running = match start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sandbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Tests parse this line.
    println!("sandbox listening on {}", running.base_url());
    println!(
        "sandbox media router on udp {}",
        running.sandbox.media_addr()
    );
    tokio::select! {
        _ = running.task => ExitCode::FAILURE,
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
    }
}

use std::process::ExitCode;

use drlease::cli::{self, Command};
use drlease::config::{Environment, Settings};
use drlease::{daemon, logging};

fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length; gethostname NUL-terminates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec()).ok()
}

fn main() -> ExitCode {
    let (command, line) = cli::parse();
    let env = Environment {
        pod_name: std::env::var("POD_NAME").ok(),
        hostname: hostname(),
    };
    let settings = match Settings::resolve(&line, &env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("drlease: {e}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::CheckConfig(_) => {
            println!("{:<18} {:<40} source", "setting", "value");
            for (name, value, source) in &settings.provenance {
                println!("{name:<18} {value:<40} {source}");
            }
            ExitCode::SUCCESS
        }
        Command::Run(_) => {
            logging::init(settings.log_format);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("drlease: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(daemon::run(settings)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "drlease failed");
                    eprintln!("drlease: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

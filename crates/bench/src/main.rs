//! `hookbox-bench`: see the crate README.
#![expect(
    clippy::print_stdout,
    reason = "a command-line tool that prints its report"
)]

mod files;
mod load;
mod options;
mod postgres_cost;
mod postgres_direct;
mod report;
mod requests;
mod runs;
mod scenario;
mod soak;
mod traffic;
mod verify_only;

fn main() -> std::process::ExitCode {
    let options = match options::parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("hookbox-bench: {e}");
            }
            print!("{}", options::HELP);
            return std::process::ExitCode::from(2);
        }
    };
    let result = match options.soak_seconds {
        Some(seconds) => soak::scenario(&options, seconds),
        None => runs::run_many(&options),
    };
    match result {
        Ok(failures) if failures.is_empty() => std::process::ExitCode::SUCCESS,
        Ok(failures) => {
            for f in failures {
                eprintln!("hookbox-bench: CHECK FAILED: {f}");
            }
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("hookbox-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! The `lentera` command.

fn main() -> std::process::ExitCode {
    lentera::cli::main()
}

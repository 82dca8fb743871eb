//! The `manta-tagbot` binary; see the library for everything it does.

fn main() -> std::process::ExitCode {
    manta_tagbot::cli::main()
}

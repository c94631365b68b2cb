//! The `noderoll` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    noderoll::cli::main_impl()
}

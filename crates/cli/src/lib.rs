//! The `yolo-basin` subcommands as a library, so the binary (`main.rs`) and other front ends
//! (the Python package) run the same code. One module per subcommand under `cmd/`, each with
//! an `Args` (clap) and a `run`.

pub mod cmd;

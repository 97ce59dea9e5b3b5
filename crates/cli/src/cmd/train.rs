//! `yolo-basin train` (not built yet: see docs/ARCHITECTURE.md for who owns it).

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`train` is not built yet")
}

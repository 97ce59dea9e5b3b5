//! `--device cpu|cuda[:N]|wgpu`: the burn device to run on. CPU (the pure-Rust Flex backend)
//! is always built; the GPU backends exist when the crate is built with the `cuda` or `wgpu`
//! feature, and asking for one that was not built says so.

use burn::prelude::Device;

use crate::ModelError;

/// Parses a device name: `cpu`, `cuda` (GPU 0), `cuda:N`, `wgpu`.
pub fn select_device(name: &str) -> Result<Device, ModelError> {
    let lower = name.trim().to_ascii_lowercase();
    let (kind, index) = match lower.split_once(':') {
        Some((k, i)) => {
            let i: usize = i.parse().map_err(|_| ModelError::Parse {
                what: "device index",
                got: name.to_string(),
                expected: "a number after the colon, e.g. cuda:1",
            })?;
            (k.to_string(), i)
        }
        None => (lower.clone(), 0),
    };
    match kind.as_str() {
        "cpu" | "flex" => Ok(Device::flex()),
        "cuda" => cuda(index, name),
        "wgpu" => wgpu(name),
        _ => Err(ModelError::Parse {
            what: "device",
            got: name.to_string(),
            expected: "cpu, cuda, cuda:N or wgpu",
        }),
    }
}

#[cfg(feature = "cuda")]
fn cuda(index: usize, _name: &str) -> Result<Device, ModelError> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize, name: &str) -> Result<Device, ModelError> {
    Err(ModelError::Config(format!(
        "device `{name}`: this build has no CUDA backend (rebuild with `--features cuda`)"
    )))
}

#[cfg(feature = "wgpu")]
fn wgpu(_name: &str) -> Result<Device, ModelError> {
    Ok(Device::wgpu(burn::prelude::DeviceKind::DefaultDevice))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu(name: &str) -> Result<Device, ModelError> {
    Err(ModelError::Config(format!(
        "device `{name}`: this build has no wgpu backend (rebuild with `--features wgpu`)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_always_works_and_junk_is_refused() {
        assert!(select_device("CPU").is_ok());
        assert!(select_device("tpu").is_err());
        assert!(select_device("cuda:x").is_err());
        #[cfg(not(feature = "cuda"))]
        assert!(
            select_device("cuda")
                .expect_err("no cuda in this build")
                .to_string()
                .contains("--features cuda")
        );
    }
}

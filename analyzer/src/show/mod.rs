//! Views of a bundle's evidence, as the familiar tools would have printed it on the node
//! (`ipvsadm -Ln`, `ip -j -d link`, `lsmod` ...). Renderers write to `impl Write`.

pub mod ipvs;
pub mod links;
pub mod manifest;
pub mod modules;
pub mod sysctls;

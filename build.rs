//! Link options for the drlease binary only (no dependency is rebuilt for them).
//!
//! On Linux with glibc: pack the relative relocations (`-z pack-relative-relocs`, DT_RELR;
//! glibc 2.36 and GNU ld 2.38 or later, as in Debian 12 and the distroless image). A
//! position-independent binary of this size carries some 48,000 of them, 1.1 MB of
//! `.rela.dyn` that the loader reads once at start and that then stays in the resident
//! set; packed, they take a few kilobytes. The binary stays position-independent.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

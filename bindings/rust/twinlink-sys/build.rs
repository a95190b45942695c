//! Finds libtwinlink for the link, in this order:
//!
//! 1. `TWINLINK_LIB_DIR`: a directory holding an already built libtwinlink.so (a CMake build's
//!    `capi/`, or an install's `lib/`), with the headers in `TWINLINK_INCLUDE_DIR` (default: the
//!    repository's `capi/include`, else `<lib dir>/../include`). The program then needs that
//!    directory on its library path at run time.
//! 2. With the `bundled` feature (the default): built from twinlink's sources with CMake. The
//!    source tree is `TWINLINK_SOURCE_DIR`, else the repository this crate sits in. The published
//!    package does not carry the C++ sources (they need CMake, a C++17 compiler and Paho MQTT C++
//!    anyway): outside a checkout, without `TWINLINK_SOURCE_DIR`, it falls back to 3.
//! 3. Without it: an installed libtwinlink, found through pkg-config (`twinlink.pc`).
//!
//! The header directory, when known, is passed on to dependent build scripts as
//! `DEP_TWINLINK_INCLUDE`.

use std::env;
use std::path::{Path, PathBuf};

fn main() {
    for variable in ["TWINLINK_SOURCE_DIR", "TWINLINK_LIB_DIR", "TWINLINK_INCLUDE_DIR"] {
        println!("cargo:rerun-if-env-changed={variable}");
    }
    if let Some(dir) = env::var_os("TWINLINK_LIB_DIR") {
        prebuilt(PathBuf::from(dir));
        return;
    }
    #[cfg(feature = "bundled")]
    if let Some(root) = bundled::source_root() {
        bundled::build(root);
        return;
    }
    installed();
}

fn prebuilt(library_dir: PathBuf) {
    if !library_dir.join("libtwinlink.so").exists() {
        fail(&format!(
            "TWINLINK_LIB_DIR is {}, which has no libtwinlink.so (build the CMake target `twinlink` first)",
            library_dir.display()
        ));
    }
    println!("cargo:rustc-link-search=native={}", library_dir.display());
    println!("cargo:rustc-link-lib=dylib=twinlink");
    println!("cargo:lib_dir={}", library_dir.display());
    if let Some(dir) = env::var_os("TWINLINK_INCLUDE_DIR") {
        let include = PathBuf::from(dir);
        if !include.join("twinlink.h").exists() {
            fail(&format!(
                "TWINLINK_INCLUDE_DIR is {}, which has no twinlink.h",
                include.display()
            ));
        }
        println!("cargo:include={}", include.display());
        return;
    }
    // The declarations are in src/lib.rs; the headers only serve dependents' build scripts
    // (the ABI check), so none found is not an error.
    let candidates = [
        Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../../capi/include"),
        library_dir.join("../include"),
    ];
    if let Some(include) = candidates.iter().find(|dir| dir.join("twinlink.h").exists()) {
        println!(
            "cargo:include={}",
            include.canonicalize().unwrap_or(include.clone()).display()
        );
    }
}

fn installed() {
    match pkg_config::Config::new().atleast_version("0.1").probe("twinlink") {
        Ok(library) => {
            if let Some(include) = library.include_paths.first() {
                println!("cargo:include={}", include.display());
            }
        }
        Err(error) => fail(&format!(
            "libtwinlink was not found through pkg-config ({error}).\n\
             Install libtwinlink with its twinlink.pc (or point PKG_CONFIG_PATH at the directory that \
             holds it, e.g. a CMake build's capi/), set TWINLINK_LIB_DIR to a directory holding \
             libtwinlink.so, or, with the `bundled` feature, TWINLINK_SOURCE_DIR to a checkout of \
             twinlink to build it from source (needs cmake, a C++17 compiler and Paho MQTT C++)."
        )),
    }
}

#[cfg(feature = "bundled")]
mod bundled {
    use super::*;

    pub fn build(root: PathBuf) {
        for watched in ["CMakeLists.txt", "core", "capi", "packaging"] {
            println!("cargo:rerun-if-changed={}", root.join(watched).display());
        }
        if which("cmake").is_none() {
            fail("the `bundled` feature builds libtwinlink with CMake, and `cmake` is not on PATH (apt-get install cmake, or scripts/bootstrap)");
        }
        let mut config = cmake::Config::new(&root);
        config
            .define("TWINLINK_BUILD_TESTS", "OFF")
            .define("TWINLINK_BUILD_EXAMPLES", "OFF")
            .profile("RelWithDebInfo")
            .build_target("twinlink");
        if env::var_os("CMAKE_GENERATOR").is_none() && which("ninja").is_some() {
            config.generator("Ninja");
        }
        if which("ccache").is_some() {
            config.define("CMAKE_CXX_COMPILER_LAUNCHER", "ccache");
        }
        let out = config.build();
        let library_dir = out.join("build").join("capi");
        if !library_dir.join("libtwinlink.so").exists() {
            fail(&format!(
                "the CMake build finished but {} has no libtwinlink.so",
                library_dir.display()
            ));
        }
        println!("cargo:rustc-link-search=native={}", library_dir.display());
        println!("cargo:rustc-link-lib=dylib=twinlink");
        println!("cargo:include={}", root.join("capi").join("include").display());
        println!("cargo:lib_dir={}", library_dir.display());
    }

    /// twinlink's source tree: TWINLINK_SOURCE_DIR (which must be one), else the checkout this
    /// crate sits in; `None` for the published package outside a checkout.
    pub fn source_root() -> Option<PathBuf> {
        let is_tree = |root: &Path| root.join("capi").join("include").join("twinlink.h").exists();
        if let Some(dir) = env::var_os("TWINLINK_SOURCE_DIR") {
            let root = PathBuf::from(dir);
            if !is_tree(&root) {
                fail(&format!(
                    "TWINLINK_SOURCE_DIR is {}, which is not twinlink's source tree (no capi/include/twinlink.h)",
                    root.display()
                ));
            }
            return Some(root.canonicalize().unwrap_or(root));
        }
        // bindings/rust/twinlink-sys -> the repository root
        let root = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../..");
        if !is_tree(&root) || !root.join("core").is_dir() {
            println!(
                "cargo:warning=twinlink-sys: no source tree for the `bundled` feature (set TWINLINK_SOURCE_DIR \
                 to a checkout of twinlink); looking for an installed libtwinlink through pkg-config"
            );
            return None;
        }
        Some(root.canonicalize().unwrap_or(root))
    }

    fn which(program: &str) -> Option<PathBuf> {
        env::split_paths(&env::var_os("PATH")?)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    panic!("twinlink-sys: {message}");
}

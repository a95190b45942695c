//! Finds libtwinlink for the link, in this order:
//!
//! 1. `TWINLINK_LIB_DIR`: a directory holding an already built libtwinlink.so (a CMake build's
//!    `capi/`), with the headers in `TWINLINK_INCLUDE_DIR` (default: the repository's
//!    `capi/include`). The program then needs that directory on its library path at run time.
//! 2. With the `bundled` feature (the default): built from the repository's sources with CMake
//!    (the source tree is the repository this crate sits in, or `TWINLINK_SOURCE_DIR`).
//! 3. Without it: an installed libtwinlink, found through pkg-config (`twinlink.pc`).
//!
//! Either way the header directory is passed on to dependent build scripts as
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
    bundled::build();
    #[cfg(not(feature = "bundled"))]
    installed();
}

fn prebuilt(library_dir: PathBuf) {
    if !library_dir.join("libtwinlink.so").exists() {
        fail(&format!(
            "TWINLINK_LIB_DIR is {}, which has no libtwinlink.so (build the CMake target `twinlink` first)",
            library_dir.display()
        ));
    }
    let include = match env::var_os("TWINLINK_INCLUDE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../../capi/include"),
    };
    if !include.join("twinlink.h").exists() {
        fail(&format!(
            "{} has no twinlink.h: set TWINLINK_INCLUDE_DIR to the directory of the C headers",
            include.display()
        ));
    }
    println!("cargo:rustc-link-search=native={}", library_dir.display());
    println!("cargo:rustc-link-lib=dylib=twinlink");
    println!("cargo:include={}", include.canonicalize().unwrap_or(include).display());
    println!("cargo:lib_dir={}", library_dir.display());
}

#[cfg(not(feature = "bundled"))]
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
             holds it, e.g. a CMake build's capi/), or enable the `bundled` feature to build it from \
             source (needs cmake, a C++17 compiler and Paho MQTT C++)."
        )),
    }
}

#[cfg(feature = "bundled")]
mod bundled {
    use super::*;

    pub fn build() {
        let root = source_root();
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

    fn source_root() -> PathBuf {
        let root = match env::var_os("TWINLINK_SOURCE_DIR") {
            Some(dir) => PathBuf::from(dir),
            // bindings/rust/twinlink-sys -> the repository root
            None => Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../.."),
        };
        if !root.join("capi").join("include").join("twinlink.h").exists() {
            fail(&format!(
                "the `bundled` feature needs twinlink's source tree, and {} is not one (no capi/include/twinlink.h). \
                 Set TWINLINK_SOURCE_DIR to a checkout, or disable `bundled` to use an installed libtwinlink \
                 through pkg-config.",
                root.display()
            ));
        }
        root.canonicalize().unwrap_or(root)
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

//! Errors on bad input, without a broker.

use std::time::Duration;

use twinlink::{Device, ErrorKind};

#[test]
fn invalid_device_id_is_invalid_argument_with_message() {
    let error = Device::builder("bad/id")
        .broker("mqtt://127.0.0.1:1")
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(error.code(), -1);
    assert!(error.message().contains("bad/id"), "message: {}", error.message());
    assert!(error.to_string().starts_with("invalid"), "display: {error}");
    let _: &dyn std::error::Error = &error;
}

#[test]
fn invalid_broker_uri_names_it() {
    let error = Device::builder("dev-1").broker("http://x").build().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(error.message().contains("http://x"), "message: {}", error.message());
}

#[test]
fn no_broker_is_invalid() {
    let error = Device::builder("dev-1").build().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn interior_nul_is_refused_before_the_c_call() {
    let error = Device::builder("dev\0x")
        .broker("mqtt://127.0.0.1:1")
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(error.message().contains("NUL"), "message: {}", error.message());
}

#[test]
fn bad_datapoints_are_refused() {
    let device = Device::builder("dev-offline")
        .broker("mqtt://127.0.0.1:1")
        .build()
        .unwrap();
    let points = device.datapoints().unwrap();
    let error = points.record("a/b", 1.0).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        points.record("nan", f64::NAN).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let error = points.record_many("x", &[1.0, 2.0][..], Some(&[1][..])).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(points.stats().unwrap().recorded, 0);
}

#[test]
fn connect_to_nothing_times_out() {
    let device = Device::builder("dev-unreachable")
        .broker("mqtt://127.0.0.1:1")
        .build()
        .unwrap();
    let error = device.connect(Duration::from_millis(300)).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Timeout | ErrorKind::Connect),
        "unexpected {error:?}"
    );
}

#[test]
fn report_of_a_non_object_is_refused() {
    let device = Device::builder("dev-offline-2")
        .broker("mqtt://127.0.0.1:1")
        .build()
        .unwrap();
    let shadow = device.shadow().unwrap();
    let error = shadow.report(&[1, 2, 3], Duration::from_millis(100)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn library_version_matches_header() {
    assert_eq!(twinlink::library_version(), twinlink_sys::TL_VERSION_STRING);
}

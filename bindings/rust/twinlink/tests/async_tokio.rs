//! The async scenario (tests/async_scenario) on tokio's multi-threaded runtime.

mod async_scenario;
mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_api_on_tokio() {
    async_scenario::run(tokio::time::sleep).await;
}

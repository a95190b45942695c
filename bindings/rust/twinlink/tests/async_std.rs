//! The async scenario (tests/async_scenario) on async-std.

mod async_scenario;
mod common;

#[async_std::test]
async fn async_api_on_async_std() {
    async_scenario::run(async_std::task::sleep).await;
}

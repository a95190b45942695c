//! The async API: futures completed by the C ABI's completion callbacks (`tl_*_start`), and
//! streams fed by its delta callbacks. Runtime-agnostic: nothing here but `std::task::Waker`,
//! so they run on tokio, async-std, smol or `futures::executor` alike, and no thread waits for
//! an operation (the callback runs on the device's dispatcher thread and wakes the task).

use std::collections::VecDeque;
use std::ffi::{c_char, c_void, CStr};
use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;
use serde::Serialize;
use serde_json::Value;
use twinlink_sys as sys;

use crate::callback::guard;
use crate::client::Client;
use crate::datapoints::Datapoints;
use crate::device::{Device, DeviceBuilder};
use crate::error::{Error, Result};
use crate::shadow::Shadow;
use crate::util::{c_string, millis};

mod more;
pub use more::MessageStream;

/// Native operations started and not yet released by the C library (their destroy callback has
/// not run). For tests: a dropped [`Operation`] must bring it back down without waiting for the
/// operation's timeout.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

#[doc(hidden)]
pub fn operations_in_flight() -> usize {
    IN_FLIGHT.load(Ordering::SeqCst)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How a native operation ended: the fields of its `tl_completion`, copied.
struct Done {
    status: sys::tl_status,
    message: String,
    document: Option<String>,
}

impl Done {
    fn error(self) -> Error {
        // A rejection's reason may be only in its document.
        let message = match (self.message.is_empty(), self.document) {
            (true, Some(document)) => document,
            _ => self.message,
        };
        Error::with_message(self.status, message)
    }

    fn check(self) -> Result<Option<String>> {
        if self.status == sys::TL_OK {
            Ok(self.document)
        } else {
            Err(self.error())
        }
    }
}

enum SlotState {
    Pending(Option<Waker>),
    Done(Done),
    Taken,
}

/// What the completion callback and the future share: the outcome and the waker of the task
/// that awaits it. One reference is the future's, one the C library's (released by `release`).
struct Slot(Mutex<SlotState>);

unsafe extern "C" fn complete(completion: *const sys::tl_completion, user_data: *mut c_void) {
    guard("completion", || {
        // SAFETY: C passes a valid completion for the call, with the user_data of `start`.
        let completion = unsafe { &*completion };
        let done = Done {
            status: completion.status,
            message: borrowed_text(completion.message).unwrap_or_default(),
            document: borrowed_text(completion.document),
        };
        // SAFETY: user_data is an Arc<Slot> reference that `release` gives back later.
        let slot = unsafe { &*(user_data as *const Slot) };
        let waker = match std::mem::replace(&mut *lock(&slot.0), SlotState::Done(done)) {
            SlotState::Pending(waker) => waker,
            _ => None,
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    });
}

unsafe extern "C" fn release(user_data: *mut c_void) {
    guard("destroy", || {
        // SAFETY: the reference handed to C by `start`, given back exactly once.
        drop(unsafe { Arc::from_raw(user_data as *const Slot) });
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    });
}

/// A C string borrowed for a callback, copied; `None` for NULL.
fn borrowed_text(text: *const c_char) -> Option<String> {
    if text.is_null() {
        None
    } else {
        // SAFETY: a valid C string for the duration of the callback.
        Some(unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned())
    }
}

/// The handle an operation runs on: it cancels the operation and keeps the device alive until
/// the future is dropped.
enum Target {
    Device(Device),
    Client(Client),
    Shadow(Shadow),
    Datapoints(Datapoints),
}

impl Target {
    fn cancel(&self, operation: u64) {
        // SAFETY: the handles are valid while self lives. An operation that has already ended
        // gives TL_ESTATE, which is of no interest here.
        unsafe {
            match self {
                Target::Device(device) => sys::tl_client_cancel(sys::tl_device_client(device.raw()), operation),
                Target::Client(client) => sys::tl_client_cancel(client.raw(), operation),
                Target::Shadow(shadow) => sys::tl_shadow_cancel(shadow.raw(), operation),
                Target::Datapoints(points) => sys::tl_datapoints_cancel(points.raw(), operation),
            };
        }
    }
}

/// Turns the outcome into the future's output.
type Finish<T> = Box<dyn FnOnce(Done, &Target) -> Result<T> + Send>;

enum State<T> {
    /// The start function refused the operation; the error is returned by the first poll.
    Failed(Option<Error>),
    Running {
        slot: Arc<Slot>,
        operation: u64,
        target: Target,
        finish: Finish<T>,
    },
    Finished,
}

/// A native operation in progress: a [`Future`] of its result.
///
/// The operation starts when the method that returns it is called (not at the first poll), and
/// runs in the C library without a thread of yours: its completion callback wakes the task that
/// awaits. Dropping the future before it completes cancels the operation (`tl_*_cancel`); what
/// was already sent is not recalled (a canceled report stays queued and is still sent).
///
/// `Send`, `Unpin` and `'static`: it keeps its device alive.
///
/// ```no_run
/// use std::time::Duration;
/// use futures::StreamExt;
/// use serde_json::json;
///
/// # fn main() -> twinlink::Result<()> {
/// // Any executor: tokio, async-std, or futures' own.
/// futures::executor::block_on(async {
///     let timeout = Duration::from_secs(5);
///     let device = twinlink::Device::builder("sensor-1")
///         .broker("mqtt://127.0.0.1:1883")
///         .connect_async(timeout)
///         .await?;
///     let shadow = device.shadow()?;
///     // Several operations in flight at once, on no thread of their own.
///     let (a, b) = futures::join!(
///         shadow.report_async(&json!({"firmware": "1.2.0"}), timeout),
///         device.datapoints()?.flush_async(timeout),
///     );
///     println!("accepted at version {}", a?["version"]);
///     b?;
///     let mut deltas = shadow.deltas()?;
///     if let Some(delta) = deltas.next().await {
///         shadow.report_async(&delta.state, timeout).await?;
///     }
///     Ok(())
/// })
/// # }
/// ```
#[must_use = "dropping the future cancels the operation"]
pub struct Operation<T> {
    state: State<T>,
}

impl<T> Operation<T> {
    fn failed(error: Error) -> Operation<T> {
        Operation {
            state: State::Failed(Some(error)),
        }
    }

    /// Calls `call(callback, user_data, destroy, out_operation)`, a `tl_*_start` function.
    fn start(
        target: Target,
        finish: Finish<T>,
        call: impl FnOnce(
            Option<sys::tl_completion_cb>,
            *mut c_void,
            Option<sys::tl_destroy_cb>,
            *mut u64,
        ) -> sys::tl_status,
    ) -> Operation<T> {
        let slot = Arc::new(Slot(Mutex::new(SlotState::Pending(None))));
        let user_data = Arc::into_raw(slot.clone()) as *mut c_void;
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        let mut operation = 0;
        // On failure the C library has already run `release`, which gave back its reference.
        let status = call(Some(complete), user_data, Some(release), &mut operation);
        if status != sys::TL_OK {
            return Operation::failed(Error::last(status));
        }
        Operation {
            state: State::Running {
                slot,
                operation,
                target,
                finish,
            },
        }
    }
}

impl<T> Future for Operation<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        match &mut this.state {
            State::Failed(error) => {
                let error = error.take().expect("Operation polled after it completed");
                this.state = State::Finished;
                Poll::Ready(Err(error))
            }
            State::Running { slot, .. } => {
                let done = {
                    let mut state = lock(&slot.0);
                    match &mut *state {
                        SlotState::Pending(waker) => {
                            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                                *waker = Some(cx.waker().clone());
                            }
                            return Poll::Pending;
                        }
                        SlotState::Done(_) => match std::mem::replace(&mut *state, SlotState::Taken) {
                            SlotState::Done(done) => done,
                            _ => unreachable!(),
                        },
                        SlotState::Taken => panic!("Operation polled after it completed"),
                    }
                };
                match std::mem::replace(&mut this.state, State::Finished) {
                    State::Running { target, finish, .. } => Poll::Ready(finish(done, &target)),
                    _ => unreachable!(),
                }
            }
            State::Finished => panic!("Operation polled after it completed"),
        }
    }
}

impl<T> Drop for Operation<T> {
    fn drop(&mut self) {
        if let State::Running {
            slot,
            operation,
            target,
            ..
        } = &self.state
        {
            let pending = matches!(*lock(&slot.0), SlotState::Pending(_));
            if pending {
                target.cancel(*operation);
            }
        }
    }
}

impl<T> std::fmt::Debug for Operation<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Failed(_) => "failed",
            State::Running { slot, .. } => match *lock(&slot.0) {
                SlotState::Pending(_) => "running",
                _ => "completed",
            },
            State::Finished => "finished",
        };
        f.debug_struct("Operation").field("state", &state).finish()
    }
}

fn finish_unit(done: Done, _: &Target) -> Result<()> {
    done.check().map(drop)
}

fn finish_document(done: Done, _: &Target) -> Result<Value> {
    match done.check()? {
        Some(text) if !text.is_empty() => Ok(serde_json::from_str(&text)?),
        _ => Ok(Value::Null),
    }
}

fn finish_device(done: Done, target: &Target) -> Result<Device> {
    done.check()?;
    match target {
        Target::Device(device) => Ok(device.clone()),
        _ => unreachable!("a connect operation runs on a client"),
    }
}

impl DeviceBuilder {
    /// Creates the device and connects without blocking: the future completes once connected,
    /// with [`ErrorKind::Tls`](crate::ErrorKind::Tls) or [`ErrorKind::Auth`](crate::ErrorKind::Auth)
    /// for a failure that retrying will not fix, or [`ErrorKind::Timeout`](crate::ErrorKind::Timeout)
    /// after `timeout`. Dropping it before then cancels the attempt and frees the device.
    pub fn connect_async(self, timeout: Duration) -> Operation<Device> {
        match self.build() {
            Ok(device) => start_connect(device, timeout, Box::new(finish_device)),
            Err(error) => Operation::failed(error),
        }
    }
}

fn start_connect<T>(device: Device, timeout: Duration, finish: Finish<T>) -> Operation<T> {
    // SAFETY: the client is borrowed from the device, which the target keeps alive.
    let client = unsafe { sys::tl_device_client(device.raw()) };
    Operation::start(Target::Device(device), finish, |callback, user_data, destroy, out| {
        // SAFETY: valid client; the callback and destroy match user_data.
        unsafe { sys::tl_client_connect_start(client, millis(timeout), callback, user_data, destroy, out) }
    })
}

impl Device {
    /// As [`Device::connect`] without blocking (see [`DeviceBuilder::connect_async`]). The
    /// device keeps trying in the background after an error until [`Device::disconnect`].
    pub fn connect_async(&self, timeout: Duration) -> Operation<()> {
        start_connect(self.clone(), timeout, Box::new(finish_unit))
    }
}

impl Client {
    /// As [`Client::connect`] without blocking: the future completes once connected, with
    /// [`ErrorKind::Tls`](crate::ErrorKind::Tls) or [`ErrorKind::Auth`](crate::ErrorKind::Auth)
    /// for a failure that retrying will not fix, or [`ErrorKind::Timeout`](crate::ErrorKind::Timeout)
    /// after `timeout`. The client keeps trying in the background after an error until
    /// [`Client::disconnect`]; dropping the future cancels only the wait.
    pub fn connect_async(&self, timeout: Duration) -> Operation<()> {
        let raw = self.raw();
        Operation::start(
            Target::Client(self.clone()),
            Box::new(finish_unit),
            |callback, user_data, destroy, out| {
                // SAFETY: valid client; the callback and destroy match user_data.
                unsafe { sys::tl_client_connect_start(raw, millis(timeout), callback, user_data, destroy, out) }
            },
        )
    }
}

/// The signature shared by `tl_shadow_report_start` and `tl_shadow_desire_start`.
type ShadowStart = unsafe extern "C" fn(
    *mut sys::tl_shadow,
    *const c_char,
    u32,
    Option<sys::tl_completion_cb>,
    *mut c_void,
    Option<sys::tl_destroy_cb>,
    *mut u64,
) -> sys::tl_status;

impl Shadow {
    /// As [`Shadow::report`] without blocking: the report is queued at once, and the future
    /// gives the update/accepted document. Dropping it early cancels the wait, not the report
    /// (it stays queued and is still sent).
    pub fn report_async(&self, reported: &impl Serialize, timeout: Duration) -> Operation<Value> {
        self.update_section("report", reported, timeout, sys::tl_shadow_report_start)
    }

    /// As [`Shadow::desire`] without blocking (see [`Shadow::report_async`]).
    pub fn desire_async(&self, desired: &impl Serialize, timeout: Duration) -> Operation<Value> {
        self.update_section("desired state", desired, timeout, sys::tl_shadow_desire_start)
    }

    fn update_section(
        &self,
        what: &str,
        value: &impl Serialize,
        timeout: Duration,
        start: ShadowStart,
    ) -> Operation<Value> {
        let json = match serde_json::to_string(value)
            .map_err(Error::from)
            .and_then(|json| c_string(what, &json))
        {
            Ok(json) => json,
            Err(error) => return Operation::failed(error),
        };
        let raw = self.raw();
        Operation::start(
            Target::Shadow(self.clone()),
            Box::new(finish_document),
            |callback, user_data, destroy, out| {
                // SAFETY: valid shadow and C string (copied by the call); callback and destroy
                // match user_data.
                unsafe { start(raw, json.as_ptr(), millis(timeout), callback, user_data, destroy, out) }
            },
        )
    }

    /// As [`Shadow::get`] without blocking: the document from the cloud (the local copy is
    /// updated first).
    pub fn get_async(&self, timeout: Duration) -> Operation<Value> {
        let raw = self.raw();
        Operation::start(
            Target::Shadow(self.clone()),
            Box::new(finish_document),
            |callback, user_data, destroy, out| {
                // SAFETY: valid shadow; callback and destroy match user_data.
                unsafe { sys::tl_shadow_get_start(raw, millis(timeout), callback, user_data, destroy, out) }
            },
        )
    }

    /// The pending delta (if any), then every new one, as a [`Stream`] (see [`DeltaStream`]
    /// for its bound). Dropping the stream unregisters it.
    pub fn deltas(&self) -> Result<DeltaStream> {
        self.delta_stream(None)
    }

    /// As [`Shadow::deltas`], only for deltas that contain the JSON pointer `pointer` (e.g.
    /// `"/led"`), with the value there.
    pub fn deltas_at(&self, pointer: &str) -> Result<DeltaStream> {
        self.delta_stream(Some(pointer))
    }

    fn delta_stream(&self, pointer: Option<&str>) -> Result<DeltaStream> {
        let pointer = pointer.map(|p| c_string("JSON pointer", p)).transpose()?;
        let queue = Arc::new(Queue::new(DEFAULT_MAX_QUEUE));
        let user_data = Arc::into_raw(queue.clone()) as *mut c_void;
        let mut id = 0;
        // SAFETY: valid shadow; the destroy function matches user_data and runs on failure too.
        crate::error::check(unsafe {
            sys::tl_shadow_on_delta_ex(
                self.raw(),
                pointer.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
                0,
                Some(delta_to_queue),
                user_data,
                Some(Queue::<Delta>::release),
                &mut id,
            )
        })?;
        Ok(ShadowStream {
            queue,
            shadow: self.clone(),
            id,
        })
    }

    /// The shadow's document after every accepted change, as a [`Stream`] of
    /// `{"state":{"desired":..,"reported":..,"delta":..},"version":N,..}` (bounded as
    /// [`ShadowStream`] says). A backend watches the devices it manages with it: a device's
    /// reports show in `state.reported`. Dropping the stream unregisters it.
    pub fn changes(&self) -> Result<ChangeStream> {
        let queue = Arc::new(Queue::new(DEFAULT_MAX_QUEUE));
        let user_data = Arc::into_raw(queue.clone()) as *mut c_void;
        let mut id = 0;
        // SAFETY: valid shadow; the destroy function matches user_data and runs on failure too.
        crate::error::check(unsafe {
            sys::tl_shadow_on_change(
                self.raw(),
                Some(change_to_queue),
                user_data,
                Some(Queue::<Value>::release),
                &mut id,
            )
        })?;
        Ok(ShadowStream {
            queue,
            shadow: self.clone(),
            id,
        })
    }
}

impl Datapoints {
    /// As [`Datapoints::flush`] without blocking: closes the open batches, and the future
    /// completes when every point recorded before the call is delivered (acknowledged by the
    /// broker with [`Delivery::Broker`](crate::Delivery::Broker), confirmed by the sink's receipt
    /// with [`Delivery::Receipt`](crate::Delivery::Receipt)).
    pub fn flush_async(&self, timeout: Duration) -> Operation<()> {
        let raw = self.raw();
        Operation::start(
            Target::Datapoints(self.clone()),
            Box::new(finish_unit),
            |callback, user_data, destroy, out| {
                // SAFETY: valid pipeline; callback and destroy match user_data.
                unsafe { sys::tl_datapoints_flush_start(raw, millis(timeout), callback, user_data, destroy, out) }
            },
        )
    }
}

/// How many items a stream holds for a consumer that falls behind, unless changed with
/// `max_queue`.
pub const DEFAULT_MAX_QUEUE: usize = 1000;

struct QueueState<T> {
    items: VecDeque<T>,
    max: usize,
    dropped: u64,
    closed: bool,
    waker: Option<Waker>,
}

/// A bounded queue between a C callback (any thread) and the task that polls the stream.
pub(crate) struct Queue<T>(Mutex<QueueState<T>>);

impl<T> Queue<T> {
    pub(crate) fn new(max: usize) -> Queue<T> {
        Queue(Mutex::new(QueueState {
            items: VecDeque::new(),
            max: max.max(1),
            dropped: 0,
            closed: false,
            waker: None,
        }))
    }

    /// Queues an item, dropping the oldest one when the queue is full.
    pub(crate) fn push(&self, item: T) {
        let waker = {
            let mut state = lock(&self.0);
            while state.items.len() >= state.max {
                state.items.pop_front();
                state.dropped += 1;
            }
            state.items.push_back(item);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Ends the stream once the queued items are taken.
    pub(crate) fn close(&self) {
        let waker = {
            let mut state = lock(&self.0);
            state.closed = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = lock(&self.0);
        if let Some(item) = state.items.pop_front() {
            Poll::Ready(Some(item))
        } else if state.closed {
            Poll::Ready(None)
        } else {
            if !state.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                state.waker = Some(cx.waker().clone());
            }
            Poll::Pending
        }
    }

    pub(crate) fn dropped(&self) -> u64 {
        lock(&self.0).dropped
    }

    pub(crate) fn set_max(&self, max: usize) {
        lock(&self.0).max = max.max(1);
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.0).items.len()
    }

    /// The `tl_destroy_cb` of a registration whose user_data is `Arc::into_raw` of a queue:
    /// closes the stream and releases the reference.
    pub(crate) unsafe extern "C" fn release(user_data: *mut c_void) {
        guard("destroy", || {
            // SAFETY: the reference handed to C with the registration, given back once.
            let queue = unsafe { Arc::from_raw(user_data as *const Queue<T>) };
            queue.close();
        });
    }
}

/// A delta of a shadow: what a [`DeltaStream`] yields.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    /// The delta (desired values that differ from the reported ones), or the value at the
    /// stream's JSON pointer.
    pub state: Value,
    /// The shadow version it belongs to.
    pub version: u64,
}

unsafe extern "C" fn delta_to_queue(delta_json: *const c_char, version: u64, user_data: *mut c_void) {
    guard("delta", || {
        let text = borrowed_text(delta_json).unwrap_or_default();
        let state = serde_json::from_str(&text).unwrap_or(Value::Null);
        // SAFETY: user_data is the queue's reference of the registration, alive until release.
        let queue = unsafe { &*(user_data as *const Queue<Delta>) };
        queue.push(Delta { state, version });
    });
}

unsafe extern "C" fn change_to_queue(document_json: *const c_char, user_data: *mut c_void) {
    guard("change", || {
        let text = borrowed_text(document_json).unwrap_or_default();
        let document = serde_json::from_str(&text).unwrap_or(Value::Null);
        // SAFETY: user_data is the queue's reference of the registration, alive until release.
        let queue = unsafe { &*(user_data as *const Queue<Value>) };
        queue.push(document);
    });
}

/// The deltas of a shadow as a [`Stream`], made by [`Shadow::deltas`] and [`Shadow::deltas_at`].
pub type DeltaStream = ShadowStream<Delta>;

/// The documents of a shadow after each change as a [`Stream`], made by [`Shadow::changes`].
pub type ChangeStream = ShadowStream<Value>;

/// Items of a shadow's callbacks as a [`Stream`]: [`DeltaStream`], [`ChangeStream`].
///
/// Items are queued as they arrive, on the device's dispatcher thread, until the stream is
/// polled; no thread waits for them. The queue is bounded (1000 items by default,
/// [`ShadowStream::max_queue`]): when a consumer falls that far behind, the oldest item is
/// dropped for each new one and counted ([`ShadowStream::dropped`]). A delta carries the whole
/// difference at its version and a change the whole document, so the newest items are the ones
/// worth keeping. The stream ends (`None`) when the shadow is freed; dropping it unregisters it.
pub struct ShadowStream<T> {
    queue: Arc<Queue<T>>,
    shadow: Shadow,
    id: u64,
}

impl<T> ShadowStream<T> {
    /// Bounds the queue at `max` items (at least 1).
    pub fn max_queue(self, max: usize) -> Self {
        self.queue.set_max(max);
        self
    }

    /// How many items were dropped because the consumer fell behind.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
    }

    /// How many items wait in the queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

impl<T> Stream for ShadowStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.queue.poll_next(cx)
    }
}

impl<T> Drop for ShadowStream<T> {
    fn drop(&mut self) {
        // SAFETY: the shadow is alive (self.shadow keeps it). Unknown ids are ignored.
        unsafe { sys::tl_shadow_remove_handler(self.shadow.raw(), self.id) };
    }
}

impl<T> std::fmt::Debug for ShadowStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShadowStream")
            .field("queued", &self.queued())
            .field("dropped", &self.dropped())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll<T>(queue: &Queue<T>) -> Poll<Option<T>> {
        let waker = futures::task::noop_waker();
        queue.poll_next(&mut Context::from_waker(&waker))
    }

    #[test]
    fn futures_and_streams_can_be_spawned() {
        fn spawnable<T: Send + 'static>() {}
        spawnable::<Operation<Value>>();
        spawnable::<Operation<Device>>();
        spawnable::<Operation<MessageStream>>();
        spawnable::<DeltaStream>();
        spawnable::<ChangeStream>();
        spawnable::<MessageStream>();
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts() {
        let queue = Queue::new(2);
        assert!(poll(&queue).is_pending());
        for i in 0..5 {
            queue.push(i);
        }
        assert_eq!(queue.dropped(), 3);
        assert_eq!(queue.len(), 2);
        assert_eq!(poll(&queue), Poll::Ready(Some(3)));
        assert_eq!(poll(&queue), Poll::Ready(Some(4)));
        assert!(poll(&queue).is_pending());
        queue.push(5);
        queue.close();
        // Items queued before the close are still delivered, then the stream ends.
        assert_eq!(poll(&queue), Poll::Ready(Some(5)));
        assert_eq!(poll(&queue), Poll::Ready(None));
    }

    #[test]
    fn a_push_wakes_the_polling_task() {
        use std::sync::atomic::AtomicBool;
        struct Flag(AtomicBool);
        impl std::task::Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let queue = Queue::new(DEFAULT_MAX_QUEUE);
        assert!(queue.poll_next(&mut Context::from_waker(&waker)).is_pending());
        std::thread::scope(|s| {
            s.spawn(|| queue.push("x"));
        });
        assert!(flag.0.load(Ordering::SeqCst));
        assert_eq!(poll(&queue), Poll::Ready(Some("x")));
    }
}

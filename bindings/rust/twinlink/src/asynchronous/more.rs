//! The async forms of the remaining blocking calls, on the C ABI's second set of completion
//! functions: publish, subscribe (a stream of messages), unsubscribe, disconnect, and the shadow's
//! full update and delete.

use std::ffi::c_int;
use std::sync::atomic::AtomicU64;

use super::*;

use crate::client::{Message, Qos};

impl Client {
    /// As [`Client::publish_wait`] without blocking: the message is queued at once, and the
    /// future completes when the broker acknowledged it (QoS 1/2) or it was written (QoS 0);
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) after `timeout` (the message stays
    /// queued and may still be sent), `Dropped` when a full queue dropped it. Dropping the
    /// future cancels only the wait.
    pub fn publish_async(
        &self,
        topic: &str,
        payload: impl AsRef<[u8]>,
        qos: Qos,
        retain: bool,
        timeout: Duration,
    ) -> Operation<()> {
        let topic = match c_string("topic", topic) {
            Ok(topic) => topic,
            Err(error) => return Operation::failed(error),
        };
        let payload = payload.as_ref();
        let raw = self.raw();
        Operation::start(
            Target::Client(self.clone()),
            Box::new(finish_unit),
            |callback, user_data, destroy, out| {
                // SAFETY: valid client; topic and payload are copied by the call; callback and
                // destroy match user_data.
                unsafe {
                    sys::tl_client_publish_start(
                        raw,
                        topic.as_ptr(),
                        payload.as_ptr().cast(),
                        payload.len(),
                        qos.to_raw(),
                        c_int::from(retain),
                        millis(timeout),
                        callback,
                        user_data,
                        destroy,
                        out,
                    )
                }
            },
        )
    }

    /// Subscribes to `filter` (`+` and `#` wildcards) without blocking; the future gives the
    /// matching messages as a [`MessageStream`] once the broker acknowledged the SUBSCRIBE (at
    /// once when offline: the subscription is then made at the next connect, and renewed after
    /// every reconnect). [`ErrorKind::Subscribe`](crate::ErrorKind::Subscribe) when the broker
    /// refuses, `Timeout` after `timeout`; dropping the future before then removes the
    /// subscription.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use futures::StreamExt;
    /// use twinlink::{Client, Qos};
    ///
    /// # async fn run() -> twinlink::Result<()> {
    /// let client = Client::builder().broker("mqtt://127.0.0.1:1883").build()?;
    /// client.connect_async(Duration::from_secs(5)).await?;
    /// let mut alerts = client
    ///     .subscribe_stream("alerts/#", Qos::AtLeastOnce, Duration::from_secs(5))
    ///     .await?
    ///     .max_queue(100);
    /// while let Some(message) = alerts.next().await {
    ///     println!("{}: {:?} ({} dropped so far)", message.topic, message.payload_str(), alerts.dropped());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn subscribe_stream(&self, filter: &str, qos: Qos, timeout: Duration) -> Operation<MessageStream> {
        let filter = match c_string("topic filter", filter) {
            Ok(filter) => filter,
            Err(error) => return Operation::failed(error),
        };
        let raw = self.raw();
        let queue = Arc::new(Queue::new(DEFAULT_MAX_QUEUE));
        let message_user_data = Arc::into_raw(queue.clone()) as *mut c_void;
        // The subscription id is written by the start call. Until the stream owns the
        // subscription, `pending` removes it if the future is dropped with its result unread.
        let id = Arc::new(AtomicU64::new(0));
        let mut pending = PendingSubscription {
            client: self.clone(),
            id: id.clone(),
            armed: true,
        };
        let finish: Finish<MessageStream> = Box::new(move |done, _| {
            done.check()?;
            pending.armed = false;
            Ok(MessageStream {
                queue,
                client: pending.client.clone(),
                id: Some(pending.id.load(Ordering::SeqCst)),
            })
        });
        Operation::start(
            Target::Client(self.clone()),
            finish,
            |callback, user_data, destroy, out| {
                let mut subscription = 0;
                // SAFETY: valid client and filter; each destroy matches its user_data, and both run
                // before the return when the call fails.
                let status = unsafe {
                    sys::tl_client_subscribe_start(
                        raw,
                        filter.as_ptr(),
                        qos.to_raw(),
                        Some(message_to_queue),
                        message_user_data,
                        Some(Queue::<Message>::release),
                        &mut subscription,
                        millis(timeout),
                        callback,
                        user_data,
                        destroy,
                        out,
                    )
                };
                id.store(subscription, Ordering::SeqCst);
                status
            },
        )
    }

    /// As [`Client::disconnect`] without blocking: the connection waits up to `timeout` for
    /// queued and in-flight messages, publishes the offline presence and disconnects; then the
    /// future completes. Messages not yet sent stay queued for the next connect.
    pub fn disconnect_async(&self, timeout: Duration) -> Operation<()> {
        let raw = self.raw();
        Operation::start(
            Target::Client(self.clone()),
            Box::new(finish_unit),
            |callback, user_data, destroy, out| {
                // SAFETY: valid client; callback and destroy match user_data.
                unsafe { sys::tl_client_disconnect_start(raw, millis(timeout), callback, user_data, destroy, out) }
            },
        )
    }
}

impl Device {
    /// As [`Device::disconnect`] without blocking (see [`Client::disconnect_async`]).
    pub fn disconnect_async(&self, timeout: Duration) -> Operation<()> {
        // SAFETY: the client is borrowed from the device, which the target keeps alive.
        let client = unsafe { sys::tl_device_client(self.raw()) };
        Operation::start(
            Target::Device(self.clone()),
            Box::new(finish_unit),
            |callback, user_data, destroy, out| {
                // SAFETY: valid client; callback and destroy match user_data.
                unsafe { sys::tl_client_disconnect_start(client, millis(timeout), callback, user_data, destroy, out) }
            },
        )
    }
}

impl Shadow {
    /// As [`Shadow::update`] without blocking: sends the full update request at once (e.g.
    /// `{"state":{"desired":{"a":1}},"version":7}`); the future gives the update/accepted
    /// document, or [`ErrorKind::Conflict`](crate::ErrorKind::Conflict) for a stale version,
    /// `Rejected`, `NotFound`, `NotConnected`, `Timeout`.
    pub fn update_async(&self, request: &impl Serialize, timeout: Duration) -> Operation<Value> {
        self.update_section("update request", request, timeout, sys::tl_shadow_update_start)
    }

    /// As [`Shadow::delete`] without blocking: the future gives the delete/accepted document
    /// (the local copy is emptied first), or [`ErrorKind::NotFound`](crate::ErrorKind::NotFound),
    /// `NotConnected`, `Timeout`.
    pub fn delete_async(&self, timeout: Duration) -> Operation<Value> {
        let raw = self.raw();
        Operation::start(
            Target::Shadow(self.clone()),
            Box::new(finish_document),
            |callback, user_data, destroy, out| {
                // SAFETY: valid shadow; callback and destroy match user_data.
                unsafe { sys::tl_shadow_delete_start(raw, millis(timeout), callback, user_data, destroy, out) }
            },
        )
    }
}

/// A subscription made by `subscribe_stream` that no stream owns yet.
struct PendingSubscription {
    client: Client,
    id: Arc<AtomicU64>,
    armed: bool,
}

impl Drop for PendingSubscription {
    fn drop(&mut self) {
        if self.armed {
            // SAFETY: valid client. An id the client no longer knows (the subscription failed or
            // was canceled, and removed by the library) gives TL_EINVAL, of no interest here.
            unsafe { sys::tl_client_unsubscribe(self.client.raw(), self.id.load(Ordering::SeqCst)) };
        }
    }
}

unsafe extern "C" fn message_to_queue(message: *const sys::tl_message, user_data: *mut c_void) {
    guard("message", || {
        // SAFETY: a valid message borrowed for the call; user_data is the queue's reference of
        // the subscription, alive until its release.
        let message = unsafe { Message::from_raw(&*message) };
        let queue = unsafe { &*(user_data as *const Queue<Message>) };
        queue.push(message);
    });
}

/// The messages of a subscription as a [`Stream`]: made by [`Client::subscribe_stream`].
///
/// Messages are queued as they arrive, on the client's dispatcher thread, until the stream is
/// polled. The queue is bounded (1000 messages by default, [`MessageStream::max_queue`]): when a
/// consumer falls that far behind, the oldest message is dropped for each new one and counted
/// ([`MessageStream::dropped`]). Dropping the stream unsubscribes (without waiting for the
/// broker; [`MessageStream::unsubscribe_async`] waits); it ends (`None`) when the client is
/// freed.
pub struct MessageStream {
    queue: Arc<Queue<Message>>,
    client: Client,
    id: Option<u64>,
}

impl MessageStream {
    /// Bounds the queue at `max` messages (at least 1).
    pub fn max_queue(self, max: usize) -> Self {
        self.queue.set_max(max);
        self
    }

    /// How many messages were dropped because the consumer fell behind.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
    }

    /// How many messages wait in the queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Unsubscribes, and completes once the broker acknowledged the UNSUBSCRIBE (when one was
    /// sent: no other subscription uses the filter, and connected). The subscription is removed
    /// at once in every case.
    pub fn unsubscribe_async(mut self, timeout: Duration) -> Operation<()> {
        let id = self.id.take().expect("a stream has its subscription until dropped");
        let raw = self.client.raw();
        Operation::start(
            Target::Client(self.client.clone()),
            Box::new(finish_unit),
            |callback, user_data, destroy, out| {
                // SAFETY: valid client; callback and destroy match user_data.
                unsafe { sys::tl_client_unsubscribe_start(raw, id, millis(timeout), callback, user_data, destroy, out) }
            },
        )
    }
}

impl Stream for MessageStream {
    type Item = Message;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.queue.poll_next(cx)
    }
}

impl Drop for MessageStream {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            // SAFETY: the client is alive (self.client keeps it). This never waits for the broker.
            unsafe { sys::tl_client_unsubscribe(self.client.raw(), id) };
        }
    }
}

impl std::fmt::Debug for MessageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStream")
            .field("queued", &self.queued())
            .field("dropped", &self.dropped())
            .finish()
    }
}

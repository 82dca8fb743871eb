//! Per-chat work queues owned by the daemon: one chat's messages are handled in order, different
//! chats concurrently, and taking the next update never waits for a command to finish.
//!
//! teloxide's dispatcher has its own per-chat workers, but when it prunes idle ones it can wait
//! for a worker that has just taken an update (it only looks idle), stalling every other chat
//! for the length of that command: seconds under a burst (measured in BENCHMARKS.md). Handing
//! each message over here at once keeps the dispatcher's own work trivial.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio_util::task::TaskTracker;

type Work<T> = Arc<dyn Fn(T) -> BoxFuture<'static, ()> + Send + Sync>;

/// Queues keyed by chat ID, each drained by its own task while it has work.
pub struct ChatQueues<T> {
    queues: Mutex<HashMap<i64, UnboundedSender<T>>>,
    tasks: TaskTracker,
    work: Work<T>,
}

impl<T: Send + 'static> ChatQueues<T> {
    /// Queues whose items are handled by `work`.
    pub fn new(work: impl Fn(T) -> BoxFuture<'static, ()> + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self { queues: Mutex::default(), tasks: TaskTracker::new(), work: Arc::new(work) })
    }

    /// Adds `item` to `chat`'s queue, starting a task for the chat if none is running.
    pub fn push(self: &Arc<Self>, chat: i64, item: T) {
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        // A closed sender means its task retired between our lock and its own; replace it.
        let item = match queues.get(&chat) {
            Some(sender) => match sender.send(item) {
                Ok(()) => return,
                Err(mpsc::error::SendError(item)) => item,
            },
            None => item,
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        let _ = sender.send(item); // the receiver is right here
        queues.insert(chat, sender);
        self.tasks.spawn(self.clone().drain(chat, receiver));
    }

    async fn drain(self: Arc<Self>, chat: i64, mut receiver: UnboundedReceiver<T>) {
        loop {
            let item = match receiver.try_recv() {
                Ok(item) => item,
                Err(_) => {
                    // Retire only under the lock `push` holds, so nothing can slip in between
                    // the last look at the queue and its removal.
                    let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
                    match receiver.try_recv() {
                        Ok(item) => item,
                        Err(_) => {
                            queues.remove(&chat);
                            return;
                        }
                    }
                }
            };
            (self.work)(item).await;
        }
    }

    /// Waits until every queued item (including any pushed meanwhile) has been handled.
    pub async fn drain_all(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_chat_is_handled_in_order_and_a_slow_chat_does_not_hold_up_another() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = log.clone();
        let queues = ChatQueues::new(move |(chat, n, slow): (i64, u32, bool)| {
            let seen = seen.clone();
            Box::pin(async move {
                if slow {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                seen.lock().unwrap_or_else(|p| p.into_inner()).push((chat, n));
            })
        });

        queues.push(1, (1, 1, true));
        queues.push(1, (1, 2, false));
        queues.push(2, (2, 1, false));
        queues.drain_all().await;

        let log = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(log, vec![(2, 1), (1, 1), (1, 2)]);
    }

    #[tokio::test]
    async fn a_chat_whose_task_retired_gets_a_new_one() {
        let count = Arc::new(Mutex::new(0));
        let seen = count.clone();
        let queues = ChatQueues::new(move |_: ()| {
            let seen = seen.clone();
            Box::pin(async move { *seen.lock().unwrap_or_else(|p| p.into_inner()) += 1 })
        });

        queues.push(7, ());
        tokio::time::sleep(Duration::from_millis(50)).await;
        queues.push(7, ());
        queues.drain_all().await;

        assert_eq!(*count.lock().unwrap_or_else(|p| p.into_inner()), 2);
    }
}

//! The console adapter: each line of input is a message from one user in one chat, and each
//! reply is written as plain text. Like Hubot's shell adapter, it needs no Telegram at all.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use tokio::sync::mpsc::UnboundedReceiver;

use crate::core::{Core, Incoming};
use crate::credentials::Notice;
use crate::ids::{ChatId, UserId};

/// Who the console speaks as, and where.
#[derive(Debug, Clone, Copy)]
pub struct Seat {
    /// The user every line comes from.
    pub user: UserId,
    /// The chat every line is sent in.
    pub chat: ChatId,
}

/// Reads lines until end of input, answering each. Shows `prompt` before each line if given.
pub async fn run(
    core: &Core,
    seat: Seat,
    input: impl AsyncBufRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
    prompt: Option<&str>,
    notices: &mut UnboundedReceiver<Notice>,
) -> std::io::Result<()> {
    let mut lines = input.lines();
    loop {
        if let Some(prompt) = prompt {
            output.write_all(prompt.as_bytes()).await?;
            output.flush().await?;
        }
        let Some(line) = lines.next_line().await? else { break };
        let message = Incoming {
            user: seat.user,
            username: None,
            chat: seat.chat,
            private: seat.chat == seat.user.private_chat(),
            text: line.trim_end_matches('\r'),
            sent_at: None,
        };
        if let Some(reply) = core.handle(message).await {
            output.write_all(reply.to_plain().as_bytes()).await?;
            output.write_all(b"\n").await?;
            output.flush().await?;
        }
        print_notices(notices);
    }
    if prompt.is_some() {
        output.write_all(b"\n").await?;
    }
    output.flush().await
}

/// Writes the notices meant for the admins' private chats to standard error: the console has
/// no private chats, and its standard output carries only replies.
fn print_notices(notices: &mut UnboundedReceiver<Notice>) {
    while let Ok(notice) = notices.try_recv() {
        eprintln!("notice for the admins (bot {}): {}", notice.bot_label, notice.reply.to_plain());
    }
}

"""python-socketio's AsyncClient (PyPI), a real Socket.IO 5 client nobody here wrote,
driven against a chat server by tests/interop/python.test.js.

    python python_client.py URL TRANSPORT NAME TEXT

connects over TRANSPORT (`polling` or `websocket`, no upgrade), says TEXT in the chat as
NAME (`toServer`), waits until it hears its own line back (`toClient`), sends a message with
an ack (`message`, acked with its text by the chat), and prints one JSON line of what it saw
before it disconnects. Any failure exits non-zero with the reason on stderr.
"""

import asyncio
import json
import sys

import socketio


async def main(url: str, transport: str, name: str, text: str) -> None:
    client = socketio.AsyncClient(reconnection=False)
    heard: list[str] = []
    heard_own = asyncio.Event()

    @client.on("toClient")
    async def on_line(line, *_offset):
        heard.append(line)
        if line == f"{name}:{text}":
            heard_own.set()

    await client.connect(url, transports=[transport], wait_timeout=10)
    used = client.transport()
    await client.emit("toServer", {"nome": name, "msg": text})
    await asyncio.wait_for(heard_own.wait(), timeout=10)
    ack = await client.call("message", f"hello {text}", timeout=10)
    sid = client.get_sid()
    await client.disconnect()
    print(json.dumps({"transport": used, "sid": sid, "heard": heard, "ack": ack}))


if __name__ == "__main__":
    url, transport, name, text = sys.argv[1:5]
    asyncio.run(main(url, transport, name, text))

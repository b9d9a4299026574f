package imapserver

// BufferGrace is how long a session waiting for a command keeps its
// buffers (bufferGrace), for the memory tests.
const BufferGrace = bufferGrace

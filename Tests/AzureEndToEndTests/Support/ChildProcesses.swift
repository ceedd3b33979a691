// Child processes, their output and their bounds: shared with the other end-to-end target.
@_exported import ChildProcessSupport

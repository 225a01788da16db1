"""The pure VRRP core: codec, election state machine, trackers and the node router.

Nothing here reads a clock, touches a socket, file or process, or draws random
numbers (ARCHITECTURE.md rule 1): time comes in as ``now``, effects go out as
actions. That is what lets every behaviour be tested on a simulated clock.
"""

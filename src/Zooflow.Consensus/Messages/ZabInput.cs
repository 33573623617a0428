namespace Zooflow.Consensus.Messages;

/// <summary>
/// Everything <see cref="ZabNode.Step"/> accepts: messages from other servers (<see cref="ZabMessage"/>) and local
/// inputs from this server's driver (<see cref="LocalInput"/>). Plain immutable records; the driver's peer transport
/// encodes and decodes them (the core has no wire format).
/// </summary>
public abstract record ZabInput;

/// <summary>A message between two servers of the ensemble.</summary>
/// <param name="From">Sender's server id.</param>
/// <param name="To">Receiver's server id. <see cref="ZabNode.Step"/> rejects a message addressed to another server.</param>
/// <remarks>
/// The network may lose, duplicate, delay and reorder messages; the core tolerates all of it. Election messages are
/// idempotent. Leader-learner messages travel on a <see cref="LinkMessage">link</see> with sequence numbers, so the
/// core itself detects loss and reordering (and drops the link, as a broken TCP connection would) and ignores duplicates.
/// </remarks>
public abstract record ZabMessage(long From, long To) : ZabInput;

/// <summary>An input from this server's own driver (not sent over the network).</summary>
public abstract record LocalInput : ZabInput;

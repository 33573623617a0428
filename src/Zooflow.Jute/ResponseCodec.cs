namespace Zooflow.Jute;

/// <summary>Maps a request opcode to the record that follows a successful <see cref="ReplyHeader"/> (client side).</summary>
/// <remarks>ZooKeeper sends a body only when the reply header's err is 0 (Ok): a failed operation's reply is the header
/// alone. A failed multi is still err 0 with <see cref="ErrorResponse"/> results inside its <see cref="MultiResponse"/>.</remarks>
public static class ResponseCodec
{
    /// <summary>Decodes the body of a successful reply to a request of type <paramref name="type"/>.</summary>
    /// <param name="type">The opcode of the request this replies to.</param>
    /// <param name="reader">Positioned after the reply header.</param>
    /// <param name="body">The response record, or null for operations whose reply has no body (delete, setWatches, ping,
    /// auth, closeSession, addWatch, removeWatches, checkWatches).</param>
    /// <returns>False for opcodes this codec does not know; nothing is consumed then.</returns>
    /// <exception cref="ProtocolException">The body is malformed or truncated.</exception>
    public static bool TryReadBody(OpCode type, ref JuteReader reader, out object? body)
    {
        switch (type)
        {
            case OpCode.Create:
                body = CreateResponse.Read(ref reader);
                return true;
            case OpCode.Create2 or OpCode.CreateContainer or OpCode.CreateTtl:
                body = Create2Response.Read(ref reader);
                return true;
            case OpCode.Exists or OpCode.SetData or OpCode.SetAcl or OpCode.Check: // FinalRequestProcessor answers a lone check with a Stat
                body = StatResponse.Read(ref reader);
                return true;
            case OpCode.GetData:
                body = GetDataResponse.Read(ref reader);
                return true;
            case OpCode.GetAcl:
                body = GetAclResponse.Read(ref reader);
                return true;
            case OpCode.GetChildren:
                body = GetChildrenResponse.Read(ref reader);
                return true;
            case OpCode.GetChildren2:
                body = GetChildren2Response.Read(ref reader);
                return true;
            case OpCode.Sync:
                body = SyncResponse.Read(ref reader);
                return true;
            case OpCode.Multi or OpCode.MultiRead:
                body = MultiResponse.Read(ref reader);
                return true;
            case OpCode.GetAllChildrenNumber:
                body = GetAllChildrenNumberResponse.Read(ref reader);
                return true;
            case OpCode.GetEphemerals:
                body = GetEphemeralsResponse.Read(ref reader);
                return true;
            case OpCode.WhoAmI:
                body = WhoAmIResponse.Read(ref reader);
                return true;
            case OpCode.Delete or OpCode.Ping or OpCode.Auth or OpCode.SetWatches or OpCode.SetWatches2
                or OpCode.CloseSession or OpCode.AddWatch or OpCode.RemoveWatches or OpCode.CheckWatches:
                body = null;
                return true;
            default:
                body = null;
                return false;
        }
    }
}

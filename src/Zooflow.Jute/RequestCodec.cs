namespace Zooflow.Jute;

/// <summary>Maps a request opcode to the record that follows the <see cref="RequestHeader"/> on the wire.</summary>
public static class RequestCodec
{
    /// <summary>
    /// Decodes the body of a request of type <paramref name="type"/> (the frame after its <see cref="RequestHeader"/>).
    /// </summary>
    /// <param name="type">The header's opcode.</param>
    /// <param name="reader">Positioned after the header.</param>
    /// <param name="body">The request record, or null for requests without a body (ping, closeSession, whoAmI).</param>
    /// <returns>False for opcodes this codec does not know (the caller decides: ZooKeeper replies Unimplemented / closes);
    /// nothing is consumed then.</returns>
    /// <exception cref="ProtocolException">The body is malformed or truncated.</exception>
    /// <remarks>create, create2 and createContainer share <see cref="CreateRequest"/>; getChildren and getChildren2 share
    /// <see cref="GetChildrenRequest"/>; checkWatches and removeWatches share <see cref="RemoveWatchesRequest"/>;
    /// multi and multiRead share <see cref="MultiRequest"/>; setWatches (101) → <see cref="SetWatches"/>, setWatches2
    /// (105) → <see cref="SetWatches2"/>; auth (100) → <see cref="AuthPacket"/>.</remarks>
    public static bool TryReadBody(OpCode type, ref JuteReader reader, out object? body)
    {
        switch (type)
        {
            case OpCode.Create or OpCode.Create2 or OpCode.CreateContainer:
                body = CreateRequest.Read(ref reader);
                return true;
            case OpCode.CreateTtl:
                body = CreateTtlRequest.Read(ref reader);
                return true;
            case OpCode.Delete:
                body = DeleteRequest.Read(ref reader);
                return true;
            case OpCode.Exists:
                body = ExistsRequest.Read(ref reader);
                return true;
            case OpCode.GetData:
                body = GetDataRequest.Read(ref reader);
                return true;
            case OpCode.SetData:
                body = SetDataRequest.Read(ref reader);
                return true;
            case OpCode.GetAcl:
                body = GetAclRequest.Read(ref reader);
                return true;
            case OpCode.SetAcl:
                body = SetAclRequest.Read(ref reader);
                return true;
            case OpCode.GetChildren or OpCode.GetChildren2:
                body = GetChildrenRequest.Read(ref reader);
                return true;
            case OpCode.Sync:
                body = SyncRequest.Read(ref reader);
                return true;
            case OpCode.Check:
                body = CheckVersionRequest.Read(ref reader);
                return true;
            case OpCode.Multi or OpCode.MultiRead:
                body = MultiRequest.Read(ref reader);
                return true;
            case OpCode.CheckWatches or OpCode.RemoveWatches:
                body = RemoveWatchesRequest.Read(ref reader);
                return true;
            case OpCode.Auth:
                body = AuthPacket.Read(ref reader);
                return true;
            case OpCode.SetWatches:
                body = SetWatches.Read(ref reader);
                return true;
            case OpCode.SetWatches2:
                body = SetWatches2.Read(ref reader);
                return true;
            case OpCode.GetEphemerals:
                body = GetEphemeralsRequest.Read(ref reader);
                return true;
            case OpCode.GetAllChildrenNumber:
                body = GetAllChildrenNumberRequest.Read(ref reader);
                return true;
            case OpCode.AddWatch:
                body = AddWatchRequest.Read(ref reader);
                return true;
            case OpCode.Ping or OpCode.CloseSession or OpCode.WhoAmI:
                body = null;
                return true;
            default:
                body = null;
                return false;
        }
    }
}

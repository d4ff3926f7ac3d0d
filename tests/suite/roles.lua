-- The role of each TCP connection, read by a Lua tap through Field.new("exchange.role"):
-- test_activation.py runs it, as a user's own script would name the plugin's field.
local role = Field.new("exchange.role")
local stream = Field.new("tcp.stream")
local seen = {}
local tap = Listener.new("frame", "tcp")
function tap.packet()
    local r, s = role(), stream()
    if r and s then
        seen[s.value] = r.value
    end
end
function tap.draw()
    local out = {}
    for s, r in pairs(seen) do
        out[#out + 1] = string.format("%s %d", r, s)
    end
    table.sort(out)
    print(table.concat(out, ", "))
end

// EXPECT: not valid ejit IR: {DIR}garbage.mlir:2:1
)]}> ?? %%% ^^^ "unterminated

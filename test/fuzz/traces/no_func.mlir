// EXPECT: no func.func in the IR
module {
}

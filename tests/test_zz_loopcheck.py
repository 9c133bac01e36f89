import asyncio
def test_no_running_loop_left():
    assert asyncio.events._get_running_loop() is None, asyncio.events._get_running_loop()

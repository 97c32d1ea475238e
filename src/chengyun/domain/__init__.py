"""The pure core: places, people, work orders, deadlines and severity. No I/O, no frameworks."""

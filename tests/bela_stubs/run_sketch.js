// run_sketch.js - run a tinyrt sketch.js under node with stand-ins for p5.js and Bela's GUI (tests only).
// Usage: node run_sketch.js sketch.js ACTION... ; prints JSON {sent: [...buffers sent], labels: [...button texts]}.
// ACTION: "press:N" presses button N (in creation order); "slide:N:V" moves slider N to V.
const fs = require('fs');
const vm = require('vm');
const sent = [];
const buttons = [];
const sliders = [];
function element() {
    return {elt: {textContent: ''}, position() {}, style() {}, html(t) { this.elt.textContent = String(t); },
            mousePressed(f) { this.press = f; }, input(f) { this.onInput = f; }, value() { return this.v; }};
}
const context = {
    windowWidth: 800, windowHeight: 600, Math, console,
    createCanvas() {}, background() {},
    createButton(label) { const b = element(); b.elt.textContent = label; buttons.push(b); return b; },
    createP() { return element(); },
    createSlider(min, max, value) { const s = element(); s.v = value; sliders.push(s); return s; },
    Bela: {data: {sendBuffer(index, type, values) { sent.push({index, type, values: values.slice()}); }}},
};
vm.createContext(context);
vm.runInContext(fs.readFileSync(process.argv[2], 'utf8') + '\nsetup();\ndraw();\n', context);
for (const action of process.argv.slice(3)) {
    const [kind, n, v] = action.split(':');
    if (kind === 'press') buttons[Number(n)].press();
    else { sliders[Number(n)].v = Number(v); sliders[Number(n)].onInput(); }
}
console.log(JSON.stringify({sent, labels: buttons.map(b => b.elt.textContent)}));

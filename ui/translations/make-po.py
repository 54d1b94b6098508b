#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes ui/translations/{ru,kk}/LC_MESSAGES/labelstation.po from the table below, and fails when a
@tr() string in ui/ has no translation. Run after changing a screen's words: python3 ui/translations/make-po.py"""
import pathlib, re, sys

T = {
"Already counted": ("Уже засчитан", "Бұрын есептелген"),
"Apply the next sticker.": ("Клейте следующий стикер.", "Келесі жапсырманы жапсырыңыз."),
"Audit log": ("Журнал аудита", "Аудит журналы"),
"Cancel": ("Отмена", "Болдырмау"),
"Change": ("Сменить", "Ауыстыру"),
"Choose the product and tap Print.": ("Выберите товар и нажмите «Печать».", "Тауарды таңдап, «Басып шығару» түймесін басыңыз."),
"Choose the product, or scan the barcode on the box": ("Выберите товар или отсканируйте штрихкод на коробке", "Тауарды таңдаңыз немесе қораптағы штрихкодты сканерлеңіз"),
"Close": ("Закрыть", "Жабу"),
"Codes in the pool": ("Коды в запасе", "Қордағы кодтар"),
"Codes left: {}": ("Осталось кодов: {}", "Қалған кодтар: {}"),
"Codes": ("Коды", "Кодтар"),
"Confirm applied": ("Подтвердить нанесение", "Жапсырылғанын растау"),
"Connected": ("Подключено", "Қосылған"),
"Damaged print": ("Брак печати", "Басып шығару ақауы"),
"Export shift report (CSV)": ("Отчёт за смену (CSV)", "Ауысым есебі (CSV)"),
"Label rejected": ("Этикетка отклонена", "Жапсырма қабылданбады"),
"Label, registry, language": ("Этикетка, реестр, язык", "Жапсырма, тізілім, тіл"),
"Last success: {}": ("Последний обмен: {}", "Соңғы сәтті алмасу: {}"),
"Line stopped: call the supervisor": ("Линия остановлена: позовите мастера", "Желі тоқтады: шеберді шақырыңыз"),
"MATCH — sticker is good": ("СОВПАДАЕТ — стикер годен", "СӘЙКЕС — жапсырма жарамды"),
"No connection": ("Нет связи", "Байланыс жоқ"),
"No labels wait for review": ("Нет этикеток на проверке", "Тексеруді күтетін жапсырма жоқ"),
"No product chosen": ("Товар не выбран", "Тауар таңдалмаған"),
"No products on this station: the supervisor adds them": ("На станции нет товаров: их добавляет мастер", "Бекетте тауар жоқ: оларды шебер қосады"),
"No scan": ("Нет скана", "Сканерлеу жоқ"),
"No supervisor PIN is set on this station": ("PIN мастера на этой станции не задан", "Бұл бекетте шебер PIN-коды орнатылмаған"),
"None found": ("Ничего не найдено", "Ештеңе табылмады"),
"Not a marking code": ("Это не код маркировки", "Бұл таңбалау коды емес"),
"Not counted: separators missing": ("Не засчитан: нет разделителей", "Есептелмеді: бөлгіштер жоқ"),
"Not issued to this station. Set the item aside and call the supervisor.": ("Код выдан не этой станции. Отложите товар и позовите мастера.", "Код бұл бекетке берілмеген. Тауарды бөлек қойып, шеберді шақырыңыз."),
"OK": ("OK", "OK"),
"On the wrong item": ("Наклеен не на тот товар", "Басқа тауарға жапсырылған"),
"One by one": ("По одной", "Бір-бірден"),
"PRINT": ("ПЕЧАТЬ", "БАСЫП ШЫҒАРУ"),
"Paused: fix the printer": ("Пауза: устраните неполадку принтера", "Үзіліс: принтер ақауын жойыңыз"),
"Pool and registry": ("Запас и реестр", "Қор және тізілім"),
"Printer": ("Принтер", "Принтер"),
"Printer: {}": ("Принтер: {}", "Принтер: {}"),
"Printing {} of {}": ("Печать {} из {}", "Басып шығару: {} / {}"),
"Product barcode": ("Штрихкод товара", "Тауар штрихкоды"),
"Ready": ("Готово", "Дайын"),
"Registry connection test": ("Проверить связь с реестром", "Тізіліммен байланысты тексеру"),
"Registry": ("Реестр", "Тізілім"),
"Reports waiting to be sent: {}": ("Отчётов ждут отправки: {}", "Жіберуді күтетін есептер: {}"),
"Reprint": ("Перепечатать", "Қайта басу"),
"Review ({})": ("Проверка ({})", "Тексеру ({})"),
"Roll": ("Рулоном", "Ораммен"),
"STOP": ("СТОП", "ТОҚТАТУ"),
"Apply settings": ("Применить настройки", "Баптауларды қолдану"),
"Saved to {}": ("Сохранено: {}", "Сақталды: {}"),
"Scan again, holding the scanner steady.": ("Сканируйте ещё раз, держите сканер ровно.", "Сканерді қозғалтпай, қайта сканерлеңіз."),
"Scan any code now…": ("Отсканируйте любой код…", "Кез келген кодты сканерлеңіз…"),
"Scan the printed DataMatrix sticker.": ("Сканируйте напечатанный стикер DataMatrix.", "Басылған DataMatrix жапсырмасын сканерлеңіз."),
"Scan the printed sticker instead.": ("Сканируйте напечатанный стикер.", "Оның орнына басылған жапсырманы сканерлеңіз."),
"Scan the printed sticker, or tap Unreadable.": ("Сканируйте стикер или нажмите «Не читается».", "Жапсырманы сканерлеңіз немесе «Оқылмайды» түймесін басыңыз."),
"Scan the roll: {} waiting": ("Сканируйте рулон: ждут {}", "Орамды сканерлеңіз: {} күтуде"),
"Scan the sticker ({} s)": ("Сканируйте стикер ({} с)", "Жапсырманы сканерлеңіз ({} с)"),
"Scanner test": ("Проверка сканера", "Сканерді тексеру"),
"Scanner": ("Сканер", "Сканер"),
"Search by name or GTIN": ("Поиск по названию или GTIN", "Атауы немесе GTIN бойынша іздеу"),
"Second copy": ("Вторая копия", "Екінші көшірме"),
"Set the sticker aside: the supervisor reviews it.": ("Отложите стикер: его проверит мастер.", "Жапсырманы бөлек қойыңыз: оны шебер тексереді."),
"Settings": ("Настройки", "Баптаулар"),
"Sign out": ("Выйти", "Шығу"),
"Sticker lost": ("Стикер утерян", "Жапсырма жоғалды"),
"Sticker unreadable": ("Не читается", "Оқылмайды"),
"Supervisor ({})": ("Мастер ({})", "Шебер ({})"),
"Supervisor PIN": ("PIN мастера", "Шебердің PIN-коды"),
"Supervisor": ("Мастер", "Шебер"),
"Supervisor: {}": ("Мастер: {}", "Шебер: {}"),
"Tap a label on the left": ("Выберите этикетку слева", "Сол жақтан жапсырманы таңдаңыз"),
"Test print": ("Пробная печать", "Сынақ басу"),
"The label appears here when it prints": ("Здесь появится этикетка при печати", "Басылған кезде жапсырма осында көрінеді"),
"The scanner may drop separators. Scan again; if it repeats, call the supervisor.": ("Сканер может терять разделители. Сканируйте снова; если повторится — позовите мастера.", "Сканер бөлгіштерді жоғалтуы мүмкін. Қайта сканерлеңіз; қайталанса, шеберді шақырыңыз."),
"This code was not waiting for a scan. Set the sticker aside and call the supervisor.": ("Этот код не ждал сканирования. Отложите стикер и позовите мастера.", "Бұл код сканерлеуді күтпеген. Жапсырманы бөлек қойып, шеберді шақырыңыз."),
"This is another printed label. Scan the sticker that was just printed.": ("Это другая напечатанная этикетка. Сканируйте только что напечатанный стикер.", "Бұл басқа басылған жапсырма. Жаңа басылған жапсырманы сканерлеңіз."),
"This sticker was scanned before. Do not apply a second copy: set it aside.": ("Этот стикер уже сканировали. Не клейте вторую копию: отложите её.", "Бұл жапсырма бұрын сканерленген. Екінші көшірмені жапсырмаңыз: бөлек қойыңыз."),
"Too many wrong PINs: wait a minute": ("Слишком много неверных PIN: подождите минуту", "Қате PIN тым көп: бір минут күтіңіз"),
"Torn sticker": ("Стикер порван", "Жапсырма жыртылған"),
"Unknown code": ("Неизвестный код", "Белгісіз код"),
"Unknown": ("Неизвестно", "Белгісіз"),
"Unlock line": ("Разблокировать линию", "Желіні босату"),
"Unreadable": ("Не читается", "Оқылмайды"),
"Why is this code written off?": ("Почему код списывается?", "Код неге есептен шығарылады?"),
"Work": ("Работа", "Жұмыс"),
"Write off": ("Списать", "Есептен шығару"),
"Wrong PIN: try again": ("Неверный PIN: попробуйте снова", "PIN қате: қайталап көріңіз"),
"Wrong sticker": ("Не тот стикер", "Басқа жапсырма"),
"connected": ("подключён", "қосылған"),
"good": ("годных", "жарамды"),
"needs attention": ("требует внимания", "назар аударыңыз"),
"not connected": ("не подключён", "қосылмаған"),
"offline": ("нет связи", "байланыс жоқ"),
"online": ("на связи", "байланыста"),
"printed": ("напечатано", "басылды"),
"printing": ("печатает", "басып жатыр"),
"ready": ("готов", "дайын"),
"rejected": ("отклонено", "қабылданбады"),
"size {}": ("размер {}", "өлшемі {}"),
"unknown": ("неизвестно", "белгісіз"),
"{} expiring": ("{} истекают", "{} мерзімі бітуде"),
"{} labels wait for the supervisor": ("{} этикеток ждут мастера", "{} жапсырма шеберді күтуде"),
"{} left": ("осталось {}", "{} қалды"),
"{} to send": ("{} к отправке", "{} жіберуге"),
"{} — running low": ("{} — заканчиваются", "{} — таусылып барады"),
}

ui = pathlib.Path(__file__).resolve().parent.parent
used = set()
for f in ui.rglob("*.slint"):
    used |= set(re.findall(r'@tr\("((?:[^"\\]|\\.)*)"', f.read_text(encoding="utf-8")))
missing = sorted(used - T.keys())
if missing:
    sys.exit("no translation for: " + ", ".join(missing))

def esc(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')

for i, lang in enumerate(["ru", "kk"]):
    out = ui / "translations" / lang / "LC_MESSAGES" / "labelstation.po"
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# SPDX-License-Identifier: GPL-3.0-or-later",
             "# Generated by ui/translations/make-po.py: edit the table there.",
             'msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', f'"Language: {lang}\\n"', ""]
    for k in sorted(used):
        lines += [f'msgid "{esc(k)}"', f'msgstr "{esc(T[k][i])}"', ""]
    out.write_text("\n".join(lines), encoding="utf-8")
print(f"{len(used)} strings, ru and kk written")
